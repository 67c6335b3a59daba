/* The anecdote, after heaptrack's manual test program: one site leaking blocks of
 * random size (0..999 bytes) at about 2.5 MB/s. Here in fixed steps, so the bytes leaked do
 * not depend on how fast a loaded machine runs the loop: argv[1] steps of argv[2] ms, each
 * leaking argv[3] bytes (default 25000: 2.5 MB/s at 10 ms a step) in random sizes. */
#include <stdlib.h>
#include <time.h>

static volatile size_t sink;

__attribute__((noinline)) static void leak_step(size_t budget) {
    for (size_t leaked = 0; leaked < budget;) {
        size_t size = (size_t)(rand() % 1000);
        char *p = malloc(size);
        if (p && size) p[0] = 1;
        sink += (size_t)p; /* the pointer is dropped */
        leaked += size;
    }
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 400, ms = argc > 2 ? atoi(argv[2]) : 10;
    size_t budget = argc > 3 ? (size_t)atol(argv[3]) : 25000;
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
    srand(0);
    for (int i = 0; i < steps; i++) {
        leak_step(budget);
        nanosleep(&pause, NULL);
    }
    return 0;
}
