/* A 1 GiB heap of 1 KiB objects, all reachable from one array, for timing the exit scan
 * (SWHEAP_SCAN) that decides which sampled objects are unreferenced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    size_t n = (size_t)1 << 20;
    void **objects = malloc(n * sizeof *objects);
    for (size_t i = 0; i < n; i++) {
        objects[i] = malloc(1024);
        memset(objects[i], (int)i, 1024);
    }
    printf("bigheap: %zu objects\n", n);
    return 0;
}
