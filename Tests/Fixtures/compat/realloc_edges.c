/* realloc, calloc and malloc at their edges: results and errno as glibc gives them. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void show(const char *what, const void *p, int err) { printf("%-34s %s errno=%d\n", what, p ? "ptr " : "NULL", err); }

int main(void) {
    errno = 0;
    char *p = realloc(NULL, 100);
    show("realloc(NULL, 100)", p, errno);
    memset(p, 'a', 100);
    p = realloc(p, 10000);
    printf("grown keeps contents: %d\n", p[99] == 'a');
    p = realloc(p, 50);
    printf("shrunk keeps contents: %d\n", p[49] == 'a');
    errno = 0;
    void *q = realloc(p, SIZE_MAX - 4096);
    show("realloc(p, huge)", q, errno);
    printf("original intact after failed realloc: %d\n", p[0] == 'a');
    errno = 0;
    q = realloc(p, 0); /* glibc frees and returns NULL */
    show("realloc(p, 0)", q, errno);
    errno = 0;
    q = calloc(SIZE_MAX / 2, 4);
    show("calloc overflow", q, errno);
    errno = 0;
    q = calloc(0, 0);
    show("calloc(0, 0)", q, errno);
    free(q);
    errno = 0;
    q = malloc(SIZE_MAX);
    show("malloc(SIZE_MAX)", q, errno);
    errno = 0;
    q = malloc(0);
    show("malloc(0)", q, errno);
    free(q);
    errno = 0;
    q = reallocarray(NULL, SIZE_MAX / 2, 3);
    show("reallocarray overflow", q, errno);
    unsigned *z = calloc(1000, sizeof *z);
    unsigned nonzero = 0;
    for (int i = 0; i < 1000; i++) nonzero += z[i] != 0;
    printf("calloc zeroed: %d\n", nonzero == 0);
    free(z);
    free(NULL);
    return 0;
}
