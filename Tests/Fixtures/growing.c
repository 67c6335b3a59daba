/* A steady leak next to transient churn: argv[1] steps of argv[2] milliseconds, each
 * leaking 1000 bytes from site_leak and allocating then freeing 4000 bytes. */
#include <stdlib.h>
#include <time.h>

#define SITE __attribute__((noinline))
static void *leaked[100000];

SITE void *site_leak(void) { return malloc(1000); }
SITE void *site_churn(void) { return malloc(4000); }

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 30, ms = argc > 2 ? atoi(argv[2]) : 50;
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
    for (int i = 0; i < steps && i < 100000; i++) {
        leaked[i] = site_leak();
        free(site_churn());
        nanosleep(&pause, NULL);
    }
    return 0;
}
