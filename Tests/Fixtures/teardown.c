/* A program that frees its whole heap at exit, as CPython and C++ programs with destructors
 * do: argv[1] steps of argv[2] milliseconds, each keeping a 4000-byte block from site_table
 * (a table that grows while the program runs), then everything is freed before main returns,
 * so the final dump holds almost nothing. */
#include <stdlib.h>
#include <time.h>

#define SITE __attribute__((noinline))
static void *table[100000];

SITE void *site_table(void) { return malloc(4000); }
SITE void *site_scratch(void) { return malloc(100); }

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 30, ms = argc > 2 ? atoi(argv[2]) : 20;
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
    int n = 0;
    for (; n < steps && n < 100000; n++) {
        table[n] = site_table();
        free(site_scratch());
        nanosleep(&pause, NULL);
    }
    for (int i = 0; i < n; i++) free(table[i]); /* the teardown */
    return 0;
}
