/* A heap for timing the exit scan: COUNT blocks of SIZE bytes, all reachable from one array,
 * plus (with "leak") one dropped 8 MiB block, which the default rate samples, so the flood
 * cannot stop early and must traverse the whole reachable heap; and one dropped SIZE block,
 * its last copies on the stack overwritten: under another allocator, whose own metadata
 * points at every large block, that one (sampled at SWHEAP_RATE=1) keeps the conservative
 * scan reading to the end.
 * usage: scancost COUNT SIZE [leak] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void drop(size_t size) {
    void *volatile dropped = malloc(size);
    memset(dropped, 1, size);
    dropped = NULL;
}

/* Overwrites the stack below main's frame, where drop() left copies of its pointer. */
__attribute__((noinline)) static void scrub(void) {
    volatile char pad[65536];
    memset((char *)pad, 0, sizeof pad);
}

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
        drop(8 << 20);
        drop(size);
        scrub();
    }
    printf("scancost: %zu objects of %zu bytes\n", n, size);
    return 0;
}
