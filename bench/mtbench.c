/* mtbench: a malloc-heavy multi-threaded microbenchmark for swheap's overhead suite.
 *
 * Two threads each run `iters` (argv[1]) steps of:
 *   - transient churn: replace a random slot of a 4096-entry working set with a new
 *     object of a mixed size (mostly 16-256 B, some 1-4 KiB, rarely 32-64 KiB);
 *   - long-lived objects: every 64th object also goes to a 16384-entry table that is
 *     replaced slowly, so old objects stay live for a large part of the run;
 *   - cross-thread frees: every 8th object is handed to the other thread through a
 *     single-producer/single-consumer ring and freed there (freed locally if the ring is full).
 * argv[2] = 1 runs a single thread whose "cross-thread" ring leads back to itself: the
 * same mix without thread interleaving, so callgrind counts are exactly repeatable.
 * Prints a checksum so nothing is optimised away. Build: cc -O2 -pthread. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WORKING = 4096, LONG_LIVED = 16384, RING = 1024 };

typedef struct {
    _Alignas(64) _Atomic uint64_t head; /* written by the producer */
    _Alignas(64) _Atomic uint64_t tail; /* written by the consumer */
    _Alignas(64) void *slot[RING];
} ring;

typedef struct {
    int id;
    long iters;
    ring *out; /* this thread produces into out, consumes from in */
    ring *in;
    uint64_t checksum;
    pthread_barrier_t *done;
} worker;

static inline uint64_t rnd(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static size_t pick_size(uint64_t r) {
    unsigned k = (unsigned)(r & 1023);
    if (k < 900) return 16 + ((r >> 10) & 255);         /* 88%: 16-271 B */
    if (k < 1020) return 1024 + ((r >> 10) & 3071);     /* 12%: 1-4 KiB */
    return 32768 + ((r >> 10) & 32767);                 /* 0.4%: 32-64 KiB */
}

static void drain(worker *w) {
    ring *q = w->in;
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    while (tail != head) {
        void *p = q->slot[tail % RING];
        w->checksum += *(unsigned char *)p;
        free(p);
        tail++;
    }
    atomic_store_explicit(&q->tail, tail, memory_order_release);
}

/* Hands p to the peer, or frees it here when the peer's queue is full: never spins, so
 * instruction counts under callgrind (which serialises threads) stay repeatable. */
static void give(worker *w, void *p) {
    ring *q = w->out;
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (head - atomic_load_explicit(&q->tail, memory_order_acquire) >= RING) {
        w->checksum += *(unsigned char *)p;
        free(p);
        return;
    }
    q->slot[head % RING] = p;
    atomic_store_explicit(&q->head, head + 1, memory_order_release);
}

__attribute__((noinline)) static void *make(size_t n, uint64_t tag) {
    unsigned char *p = malloc(n);
    if (!p) abort();
    p[0] = (unsigned char)tag;
    p[n - 1] = (unsigned char)(tag >> 8);
    return p;
}

static void *run(void *arg) {
    worker *w = arg;
    uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(w->id + 1);
    void **working = calloc(WORKING, sizeof *working);
    void **keep = calloc(LONG_LIVED, sizeof *keep);
    for (long i = 0; i < w->iters; i++) {
        uint64_t r = rnd(&seed);
        size_t n = pick_size(r);
        void *p = make(n, r);
        if ((i & 7) == 7) {
            give(w, p);
        } else if ((i & 63) == 0) {
            size_t k = (r >> 24) % LONG_LIVED;
            free(keep[k]);
            keep[k] = p;
        } else {
            size_t k = (r >> 40) % WORKING;
            free(working[k]);
            working[k] = p;
        }
        if ((i & 255) == 0) drain(w);
    }
    pthread_barrier_wait(w->done); /* both producers finished: the last drain empties our queue */
    drain(w);
    for (size_t k = 0; k < WORKING; k++) free(working[k]);
    for (size_t k = 0; k < LONG_LIVED; k++) free(keep[k]);
    free(working);
    free(keep);
    return NULL;
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 20000000;
    ring *a = aligned_alloc(64, sizeof(ring)), *b = aligned_alloc(64, sizeof(ring));
    memset(a, 0, sizeof *a);
    memset(b, 0, sizeof *b);
    int threads = argc > 2 && atoi(argv[2]) == 1 ? 1 : 2;
    pthread_barrier_t done;
    pthread_barrier_init(&done, NULL, (unsigned)threads);
    worker w[2] = {{0, iters, a, b, 0, &done}, {1, iters, b, a, 0, &done}};
    if (threads == 1) w[0].out = w[0].in = a;
    pthread_t t[2];
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, run, &w[i]);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    printf("mtbench: %ld iterations x %d threads, checksum %llu\n", iters, threads,
           (unsigned long long)(w[0].checksum + w[1].checksum));
    free(a);
    free(b);
    return 0;
}
