/* mallinfo: what glibc's mallinfo2 costs the threads that allocate, with many arenas.
 *
 * The memory picture of each dump (Sources/CSwHeap/memory.c) calls mallinfo2 in the dump
 * writer, which takes every arena's lock in turn. This program measures that directly,
 * without swheap: THREADS threads (each on an arena of its own: run with
 * MALLOC_ARENA_MAX=THREADS or more) keep a pool of 2,000 blocks of 16..4096 bytes and replace
 * one at random in a loop, timing every malloc (clock_gettime around the call); meanwhile the
 * main thread calls mallinfo2 every PERIOD_MS (0: never, the control run), timing each call,
 * and then reads what the rest of the memory picture reads (/proc/self/statm, smaps_rollup and
 * maps, with read(2)), timing that too.
 *   mallinfo [THREADS] [SECONDS] [PERIOD_MS] [TOUCH] [idle]     defaults 64, 3, 10, 16
 * TOUCH: bytes each thread writes into every block it allocates (the work between mallocs);
 * `idle`: the threads fill their pools and then wait (a quiet process: mallinfo2's own cost).
 * Prints one line: threads, arenas (malloc_info's heaps), mallinfo2 calls and their median and
 * largest duration, the median of the /proc reads, then the mallocs timed and their p50, p99, p99.9 and largest latency and
 * how many took over 100 us. The default interval between dumps is 10 s: this calls mallinfo2
 * 1,000 times as often. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

enum { POOL = 2000, SAMPLES = 1 << 20 };

static atomic_int stop;
static size_t touch = 16;
static int idle;
static pthread_barrier_t ready;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

typedef struct {
    uint64_t *latencies;
    size_t n;
    unsigned seed;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    void **pool = calloc(POOL, sizeof *pool);
    for (int i = 0; i < POOL; i++) pool[i] = malloc(16 + rand_r(&w->seed) % 4081);
    pthread_barrier_wait(&ready);
    while (idle && !atomic_load_explicit(&stop, memory_order_relaxed)) {
        struct timespec nap = {0, 10000000};
        nanosleep(&nap, NULL);
    }
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        int i = rand_r(&w->seed) % POOL;
        size_t size = 16 + rand_r(&w->seed) % 4081;
        free(pool[i]);
        uint64_t t0 = now_ns();
        pool[i] = malloc(size);
        uint64_t t1 = now_ns();
        if (w->n < SAMPLES) w->latencies[w->n++] = t1 - t0;
        memset(pool[i], 1, touch < size ? touch : size);
    }
    for (int i = 0; i < POOL; i++) free(pool[i]);
    free(pool);
    return NULL;
}

static void read_proc(const char *path) {
    static char buf[1 << 16];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    while (read(fd, buf, sizeof buf) > 0) {}
    close(fd);
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int heaps(void) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    malloc_info(0, f);
    fclose(f);
    int n = 0;
    for (const char *p = text; (p = strstr(p, "<heap nr=")); p++) n++;
    free(text);
    return n;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 64;
    double seconds = argc > 2 ? atof(argv[2]) : 3;
    long period_ms = argc > 3 ? atol(argv[3]) : 10;
    if (argc > 4) touch = (size_t)atol(argv[4]);
    idle = argc > 5 && strcmp(argv[5], "idle") == 0;
    worker *w = calloc((size_t)threads, sizeof *w);
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    pthread_barrier_init(&ready, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        w[i].latencies = malloc(SAMPLES * sizeof(uint64_t));
        w[i].seed = (unsigned)i * 7919u + 1;
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    pthread_barrier_wait(&ready);
    int arenas = heaps();
    uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
    static uint64_t calls[100000], procs[100000];
    size_t ncalls = 0;
    size_t sink = 0;
    while (now_ns() < end) {
        if (period_ms > 0 && ncalls < 100000) {
            uint64_t t0 = now_ns();
            struct mallinfo2 mi = mallinfo2();
            uint64_t t1 = now_ns();
            read_proc("/proc/self/statm");
            read_proc("/proc/self/smaps_rollup");
            read_proc("/proc/self/maps");
            procs[ncalls] = now_ns() - t1;
            calls[ncalls++] = t1 - t0;
            sink += mi.uordblks;
        }
        struct timespec pause = {period_ms > 0 ? period_ms / 1000 : 0, (period_ms > 0 ? period_ms % 1000 : 100) * 1000000L};
        nanosleep(&pause, NULL);
    }
    atomic_store(&stop, 1);
    size_t total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += w[i].n;
    }
    uint64_t *all = malloc((total ? total : 1) * sizeof *all);
    if (!total) all[total++] = 0;
    size_t k = 0, slow = 0;
    for (int i = 0; i < threads; i++)
        for (size_t j = 0; j < w[i].n; j++) {
            all[k++] = w[i].latencies[j];
            slow += w[i].latencies[j] > 100000;
        }
    qsort(all, total, sizeof *all, by_value);
    qsort(calls, ncalls, sizeof *calls, by_value);
    qsort(procs, ncalls, sizeof *procs, by_value);
    printf("touch %zu threads %d arenas %d mallinfo2 %zu calls median %.1f us max %.1f us proc %.1f us | mallocs %zu p50 %llu ns p99 %llu ns "
           "p99.9 %llu ns max %.2f ms >100us %zu%s\n",
           touch, threads, arenas, ncalls, ncalls ? calls[ncalls / 2] / 1e3 : 0.0, ncalls ? calls[ncalls - 1] / 1e3 : 0.0,
           ncalls ? procs[ncalls / 2] / 1e3 : 0.0, total,
           (unsigned long long)all[total / 2], (unsigned long long)all[total * 99 / 100],
           (unsigned long long)all[total * 999 / 1000], all[total - 1] / 1e6, slow, sink == 1 ? " " : "");
    return 0;
}
