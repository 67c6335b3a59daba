/* Mixed sizes on one stack, for the sampling estimator: an estimator that scales a
 * stack by its average size (pprof's legacy way) is far off here; per-sample weights are not. */
#include <stdio.h>
#include <stdlib.h>

#define SITE __attribute__((noinline))
#define SMALL 1000000
#define LARGE 100

SITE void *site_mixed(size_t n) { return malloc(n); }
SITE void *site_fixed(size_t n) { return malloc(n); }

static void *small[SMALL], *large[LARGE], *fixed[SMALL];

int main(void) {
    for (int i = 0; i < SMALL; i++) {
        small[i] = site_mixed(32);
        if (i % (SMALL / LARGE) == 0) large[i / (SMALL / LARGE)] = site_mixed(256 * 1024);
        fixed[i] = site_fixed(100);
    }
    for (int i = 0; i < SMALL; i += 2) free(small[i]);   /* live: 500000 x 32 + 100 x 256 KiB */
    for (int i = 0; i < SMALL; i += 4) free(fixed[i]);   /* live: 750000 x 100 */
    printf("sampled: done\n");
    return 0;
}
