/* Leak-ranking scenarios with known truth, each from its own function, run side by side
 * for argv[1] steps of argv[2] ms:
 *   leaks:     steady_leak (from the start), late_leak (second half only), leaky_step (in a
 *              dlopen'd library, path in argv[3])
 *   not leaks: cache_insert (bounded FIFO), batch_fill (fills, then released every 5 steps),
 *              startup_table (once, at start), grow_buffer (one buffer grown by realloc early)
 * "fork" as argv[4]: the leaks run only in a forked child; the parent keeps the others. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SITE __attribute__((noinline))
#define CACHE 64
#define BATCH 16

static void *cache[CACHE];
static unsigned cache_next;
static void *batch[BATCH * 5];
static unsigned batch_count;
static void *volatile table[200]; /* volatile: the compiler may not drop the allocations */
static char *buffer;
static size_t buffer_size;
static volatile size_t sink;

SITE void steady_leak(void) {
    for (int i = 0; i < 8; i++) {
        char *p = malloc(512);
        p[0] = 1;
        sink += (size_t)p[0]; /* the pointer is dropped */
    }
}

SITE void late_leak(void) {
    for (int i = 0; i < 16; i++) {
        char *p = malloc(512);
        p[0] = 2;
        sink += (size_t)p[0];
    }
}

SITE void cache_insert(void) {
    for (int i = 0; i < 8; i++) {
        unsigned slot = cache_next++ % CACHE;
        free(cache[slot]); /* evict the oldest */
        cache[slot] = malloc(1024);
    }
}

SITE void batch_fill(unsigned step) {
    for (int i = 0; i < BATCH; i++) batch[batch_count++] = malloc(768);
    if (step % 5 == 4) { /* the batch is done: release it all */
        while (batch_count) free(batch[--batch_count]);
    }
}

SITE void startup_table(void) {
    for (int i = 0; i < 200; i++) table[i] = malloc(256);
}

SITE void grow_buffer(void) {
    if (buffer_size >= 65536) return;
    buffer_size = buffer_size ? buffer_size * 2 : 1024;
    buffer = realloc(buffer, buffer_size);
    memset(buffer, 0, buffer_size);
}

static void pause_ms(int ms) {
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 40, ms = argc > 2 ? atoi(argv[2]) : 25;
    void (*leaky_step)(void) = NULL;
    if (argc > 3 && *argv[3]) {
        void *lib = dlopen(argv[3], RTLD_NOW);
        if (!lib) {
            fprintf(stderr, "scenarios: %s\n", dlerror());
            return 2;
        }
        leaky_step = (void (*)(void))dlsym(lib, "leaky_step");
    }
    int leaks_in_child = argc > 4 && strcmp(argv[4], "fork") == 0;
    startup_table();
    pid_t child = -1;
    if (leaks_in_child) {
        child = fork();
        if (child == 0) { /* the child leaks; exits after its steps */
            for (int s = 0; s < steps; s++) {
                steady_leak();
                if (s >= steps / 2) late_leak();
                pause_ms(ms);
            }
            exit(0);
        }
    }
    for (int s = 0; s < steps; s++) {
        if (!leaks_in_child) {
            steady_leak();
            if (s >= steps / 2) late_leak();
            if (leaky_step) leaky_step();
        }
        cache_insert();
        batch_fill((unsigned)s);
        grow_buffer();
        pause_ms(ms);
    }
    if (child > 0) waitpid(child, NULL, 0);
    printf("scenarios: %d steps\n", steps);
    return 0;
}
