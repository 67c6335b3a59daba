/* A global array appended to at a steady pace and grown by realloc, doubling its capacity
 * when full (a vector, a log buffer): its size is flat between doublings, but it keeps
 * doubling, so it grows without bound. argv[1] steps of argv[2] milliseconds, each
 * appending argv[3] bytes; the array starts at argv[4] bytes. Beside it, a cache of 16
 * blocks that fills in the first steps and then evicts its oldest (bounded). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SITE __attribute__((noinline))

static char *array;
static size_t used, capacity;
static void *cache[16];

SITE void *site_grow(void *old, size_t size) { return realloc(old, size); }
SITE void *site_cache(void) { return malloc(4096); }

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 60, ms = argc > 2 ? atoi(argv[2]) : 50;
    size_t step = argc > 3 ? strtoul(argv[3], NULL, 10) : 65536, start = argc > 4 ? strtoul(argv[4], NULL, 10) : 262144;
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
    capacity = start;
    array = site_grow(NULL, capacity);
    for (int i = 0; i < steps; i++) {
        while (used + step > capacity) {
            capacity *= 2;
            array = site_grow(array, capacity);
        }
        memset(array + used, i, step);
        used += step;
        free(cache[i % 16]);
        cache[i % 16] = site_cache();
        nanosleep(&pause, NULL);
    }
    return array[0] == 0 ? 0 : 0;
}
