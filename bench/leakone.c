/* A short program (about 5 ms of work: small allocations and arithmetic) that drops one
 * block big enough for the default rate to sample, so its exit scan finds something
 * unreferenced and must flood the whole reachable heap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(void) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    void *kept[4096];
    unsigned long sum = 0;
    for (int round = 0;; round++) {
        for (int i = 0; i < 4096; i++) {
            if (round) free(kept[i]);
            kept[i] = malloc(16 + (size_t)(i % 200));
            memset(kept[i], i, 16);
            sum += (unsigned long)((char *)kept[i])[3];
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) > 5000000L) break;
    }
    void *volatile dropped = malloc(4 << 20);
    memset(dropped, 1, 4096);
    dropped = NULL;
    printf("leakone: %lu\n", sum);
    return 0;
}
