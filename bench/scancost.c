/* A heap for timing the exit scan: COUNT blocks of SIZE bytes, all reachable from one array,
 * plus (with "leak") one dropped 8 MiB block, which the default rate samples, so the flood
 * cannot stop early and must traverse the whole reachable heap.
 * usage: scancost COUNT SIZE [leak] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: scancost COUNT SIZE [leak]\n");
        return 2;
    }
    size_t n = strtoull(argv[1], NULL, 10), size = strtoull(argv[2], NULL, 10);
    void **objects = malloc(n * sizeof *objects);
    for (size_t i = 0; i < n; i++) {
        objects[i] = malloc(size);
        memset(objects[i], (int)i, size);
    }
    if (argc > 3 && strcmp(argv[3], "leak") == 0) {
        void *volatile dropped = malloc(8 << 20);
        memset(dropped, 1, 8 << 20);
        dropped = NULL;
    }
    printf("scancost: %zu objects of %zu bytes\n", n, size);
    return 0;
}
