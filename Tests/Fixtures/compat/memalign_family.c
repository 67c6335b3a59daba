/* The aligned allocators with valid and invalid arguments: results, errno values and
 * alignment must be what glibc gives without the preload. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void report(const char *what, void *p, size_t align, int err) {
    printf("%-36s %s aligned=%d errno=%d\n", what, p ? "ptr " : "NULL", p ? (int)((uintptr_t)p % align == 0) : -1, err);
    free(p);
}

int main(void) {
    size_t aligns[] = {8, 16, 64, 4096, 65536};
    for (int i = 0; i < 5; i++) {
        void *p = NULL;
        int rc = posix_memalign(&p, aligns[i], 1000);
        printf("posix_memalign(%zu) rc=%d ", aligns[i], rc);
        report("", p, aligns[i], 0);
        errno = 0;
        p = aligned_alloc(aligns[i], aligns[i] * 3);
        report("aligned_alloc", p, aligns[i], errno);
        errno = 0;
        p = memalign(aligns[i], 777);
        report("memalign", p, aligns[i], errno);
    }
    void *p = (void *)1;
    int rc = posix_memalign(&p, 3, 100);
    printf("posix_memalign(3) rc=%d untouched=%d\n", rc, p == (void *)1);
    rc = posix_memalign(&p, 4, 100); /* not a multiple of sizeof(void *) */
    printf("posix_memalign(4) rc=%d\n", rc);
    errno = 0;
    p = memalign(SIZE_MAX / 2 + 2, 100);
    report("memalign(huge alignment)", p, 1, errno);
    errno = 0;
    p = posix_memalign(&p, 64, SIZE_MAX - 10) == 0 ? p : NULL;
    report("posix_memalign(64, huge)", p, 1, errno);
    errno = 0;
    p = aligned_alloc(24, 48); /* not a power of two: glibc 2.36 accepts it */
    report("aligned_alloc(24, 48)", p, 8, errno);
    errno = 0;
    p = aligned_alloc(0, 16);
    report("aligned_alloc(0, 16)", p, 1, errno);
    errno = 0;
    p = aligned_alloc(64, 100); /* size not a multiple of the alignment */
    report("aligned_alloc(64, 100)", p, 64, errno);
    errno = 0;
    p = valloc(5000);
    report("valloc", p, 4096, errno);
    errno = 0;
    p = pvalloc(5000);
    report("pvalloc", p, 4096, errno);
    return 0;
}
