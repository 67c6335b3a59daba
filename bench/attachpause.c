/* The pause `swheap attach` and `swheap detach` cause, as the program feels it: threads that
 * loop and note every gap between two of their iterations longer than 1 ms, with when it
 * ended (CLOCK_MONOTONIC). bench/attach-pause attributes the gaps to what it did when.
 *
 *   attachpause SECONDS [BUSY SLEEPERS WAITERS [busymain]]     default 2 1 1
 * busy: malloc/free churn without system calls (an iteration is a few microseconds);
 * sleepers: nanosleep(1 ms) per iteration; waiters: a 1 ms timed condition-variable wait.
 * The main thread sleeps (a service's idle main thread), or with `busymain` churns too, so
 * that every thread is working and the one borrowed is a working one.
 * With HEAP_MIB=N in the environment it first builds a heap of N MiB in 1 KiB blocks, all
 * reachable from one array (bench/live-scan scans it).
 * At the end: "gap KIND THREAD END_NS GAP_NS" lines, then "iterations N". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_GAPS = 4096 };
typedef struct {
    const char *kind;
    int index;
    uint64_t ends[MAX_GAPS], gaps[MAX_GAPS];
    int count;
    unsigned long iterations;
} thread_log;

static volatile int stopping;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void note(thread_log *log, uint64_t *last) {
    uint64_t t = now_ns();
    if (t - *last > 1000000 && log->count < MAX_GAPS) {
        log->ends[log->count] = t;
        log->gaps[log->count++] = t - *last;
    }
    *last = t;
    log->iterations++;
}

__attribute__((noinline)) static void churn(unsigned long i) {
    void *p[8];
    for (int k = 0; k < 8; k++) {
        p[k] = malloc(32 + (i + k) % 400);
        __asm__ volatile("" : : "r"(p[k]) : "memory");
    }
    for (int k = 0; k < 8; k++) free(p[k]);
}

static void *busy(void *arg) {
    thread_log *log = arg;
    uint64_t last = now_ns();
    for (unsigned long i = 0; !stopping; i++) {
        churn(i);
        note(log, &last);
    }
    return NULL;
}

static void *sleeper(void *arg) {
    thread_log *log = arg;
    uint64_t last = now_ns();
    for (unsigned long i = 0; !stopping; i++) {
        churn(i);
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        note(log, &last);
    }
    return NULL;
}

static void *waiter(void *arg) {
    thread_log *log = arg;
    uint64_t last = now_ns();
    for (unsigned long i = 0; !stopping; i++) {
        churn(i);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 1000000;
        if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
        pthread_mutex_lock(&lock);
        pthread_cond_timedwait(&never, &lock, &until);
        pthread_mutex_unlock(&lock);
        note(log, &last);
    }
    return NULL;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 10;
    int counts[3] = {argc > 2 ? atoi(argv[2]) : 2, argc > 3 ? atoi(argv[3]) : 1, argc > 4 ? atoi(argv[4]) : 1};
    void *(*bodies[3])(void *) = {busy, sleeper, waiter};
    const char *kinds[3] = {"busy", "sleeper", "waiter"};
    int busy_main = argc > 5 && strcmp(argv[5], "busymain") == 0;
    int n = counts[0] + counts[1] + counts[2];
    const char *heap_mib = getenv("HEAP_MIB");
    size_t blocks = heap_mib ? (size_t)atol(heap_mib) * 1024 : 0;
    void **heap = blocks ? malloc(blocks * sizeof *heap) : NULL;
    for (size_t i = 0; heap && i < blocks; i++) {
        heap[i] = malloc(1024 - 16);
        memset(heap[i], (int)i, 1024 - 16);
    }
    thread_log *logs = calloc((size_t)n + 1, sizeof *logs);
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    for (int k = 0, t = 0; k < 3; k++)
        for (int i = 0; i < counts[k]; i++, t++) {
            logs[t].kind = kinds[k];
            logs[t].index = t;
            pthread_create(&threads[t], NULL, bodies[k], &logs[t]);
        }
    printf("ready %llu\n", (unsigned long long)now_ns());
    fflush(stdout);
    if (busy_main) {
        thread_log *log = &logs[n];
        log->kind = "busy";
        log->index = n;
        uint64_t end = now_ns() + (uint64_t)(seconds * 1e9), last = now_ns();
        for (unsigned long i = 0; last < end; i++) {
            churn(i);
            note(log, &last);
        }
    } else {
        struct timespec total = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
        while (nanosleep(&total, &total) != 0) {}
    }
    stopping = 1;
    unsigned long iterations = 0;
    for (int t = 0; t < n; t++) {
        pthread_join(threads[t], NULL);
        iterations += logs[t].iterations;
    }
    for (int t = 0; t < n + busy_main; t++)
        for (int g = 0; g < logs[t].count; g++)
            printf("gap %s %d %llu %llu\n", logs[t].kind, t, (unsigned long long)logs[t].ends[g], (unsigned long long)logs[t].gaps[g]);
    printf("iterations %lu\n", iterations + (busy_main ? logs[n].iterations : 0));
    if (heap) printf("heap %zu\n", blocks + (heap[blocks - 1] != NULL));
    return 0;
}
