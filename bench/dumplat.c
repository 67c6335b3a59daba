/* dumplat: how long can an allocating thread wait while swheap writes a big dump?
 *
 * Run under libswheap.so with SWHEAP_RATE=1 and SWHEAP_SIGNAL=<sig>. First it creates
 * K^3 = 103,823 distinct allocation stacks (a table of K = 47 functions that call each
 * other three levels deep, so every path is a distinct chain of return addresses) and
 * keeps those objects live. Then one thread times every malloc/free pair it makes
 * (clock_gettime around malloc) while a second thread raises the dump signal every
 * `period_ms` (argv[2], default 200; 0 = no dumps, the control run). argv[1] = seconds
 * to measure (default 3). Prints the latency distribution of the timed mallocs. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define K 47
typedef void *(*step_fn)(int level, unsigned code);
static step_fn table[K];
static void *sink_ptrs[K * K * K];
static unsigned sink_count;

#define STEP(n)                                                                    \
    __attribute__((noinline)) static void *step##n(int level, unsigned code) {     \
        void *p;                                                                   \
        if (level == 0) p = malloc(16 + n);                                        \
        else p = table[code % K](level - 1, code / K);                             \
        __asm__ volatile("" : : "r"(p) : "memory"); /* no tail call: keep frame */ \
        return p;                                                                  \
    }
#define S10(a) STEP(a##0) STEP(a##1) STEP(a##2) STEP(a##3) STEP(a##4) STEP(a##5) STEP(a##6) STEP(a##7) STEP(a##8) STEP(a##9)
S10() S10(1) S10(2) S10(3) STEP(40) STEP(41) STEP(42) STEP(43) STEP(44) STEP(45) STEP(46)
#define R10(a) step##a##0, step##a##1, step##a##2, step##a##3, step##a##4, step##a##5, step##a##6, step##a##7, step##a##8, step##a##9
static step_fn init_table[K] = {step0, step1, step2, step3, step4, step5, step6, step7, step8, step9,
                                R10(1), R10(2), R10(3), step40, step41, step42, step43, step44, step45, step46};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static atomic_int stop;
static int dump_signal, period_ms;
static atomic_int dumps_requested;

static void *trigger(void *unused) {
    (void)unused;
    sigset_t mine;
    sigemptyset(&mine);
    sigaddset(&mine, dump_signal);
    pthread_sigmask(SIG_UNBLOCK, &mine, NULL);
    while (!atomic_load(&stop)) {
        usleep((useconds_t)period_ms * 1000);
        if (atomic_load(&stop)) break;
        raise(dump_signal); /* delivered to this thread, which has it unblocked */
        atomic_fetch_add(&dumps_requested, 1);
    }
    return NULL;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    period_ms = argc > 2 ? atoi(argv[2]) : 200;
    const char *sig = getenv("SWHEAP_SIGNAL");
    dump_signal = sig ? atoi(sig) : 0;
    memcpy(table, init_table, sizeof table);

    uint64_t t0 = now_ns();
    for (unsigned code = 0; code < K * K * K; code++) sink_ptrs[sink_count++] = table[code % K](2, code / K);
    double setup_s = (double)(now_ns() - t0) / 1e9;

    /* This thread never takes the dump signal: only the trigger thread does. */
    sigset_t block;
    sigemptyset(&block);
    if (dump_signal) sigaddset(&block, dump_signal);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    pthread_t tid;
    bool dumping = dump_signal && period_ms > 0;
    if (dumping) pthread_create(&tid, NULL, trigger, NULL);

    size_t cap = 1u << 24, n = 0;
    uint32_t *lat = malloc(cap * sizeof *lat);
    uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
    uint64_t sum = 0;
    while (n < cap) {
        uint64_t a = now_ns();
        void *p = malloc(64);
        uint64_t b = now_ns();
        __asm__ volatile("" : : "r"(p) : "memory");
        free(p);
        uint64_t d = b - a;
        lat[n++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
        sum += d;
        if ((n & 1023) == 0 && b >= end) break;
    }
    atomic_store(&stop, 1);
    if (dumping) pthread_join(tid, NULL);

    size_t over_100us = 0, over_1ms = 0;
    for (size_t i = 0; i < n; i++) over_100us += lat[i] > 100000, over_1ms += lat[i] > 1000000;
    qsort(lat, n, sizeof *lat, cmp_u32);
    printf("dumplat: stacks_created=%u setup_s=%.2f dumps_requested=%d mallocs=%zu mean_ns=%.0f "
           "p50_ns=%u p99_ns=%u p999_ns=%u max_ns=%u over_100us=%zu over_1ms=%zu\n",
           sink_count, setup_s, atomic_load(&dumps_requested), n, (double)sum / (double)n, lat[n / 2],
           lat[(size_t)(n * 0.99)], lat[(size_t)(n * 0.999)], lat[n - 1], over_100us, over_1ms);
    free(lat);
    for (unsigned i = 0; i < sink_count; i++) free(sink_ptrs[i]);
    return 0;
}
