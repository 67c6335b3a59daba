/* A service in fast motion, for the dump-size benchmark (scripts/bench-load): requests that
 * allocate and free (churn, 5,000 paths), a bounded cache that replaces its oldest entry
 * (2,000 other paths) and a slow leak (50 more), about 7,000 distinct allocation stacks at
 * the default rate. Each stack is a path of three calls through a table of 20 functions
 * (20^3 = 8,000 paths), so the stacks are real return addresses the shim unwinds.
 *   fastmotion [REQUESTS [LEAK_EVERY]]   default 2,500,000 requests (about 10 GB allocated),
 *                                        one 2 KiB record leaked per 100 requests
 * Build: cc -O1 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls bench/fastmotion.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { FUNCTIONS = 20, DEPTH = 3, CHURN_PATHS = 5000, CACHE_PATHS = 2000, LEAK_PATHS = 50, CACHE_SLOTS = 20000 };

typedef void *(*step)(int depth, const uint8_t *path, size_t size);
static step table[FUNCTIONS];

/* The innermost frame names what the object is for, as a real service's allocating functions
 * would (the report groups stacks into sites by it); the path above it makes the stack. */
enum { CHURN, CACHE, LEAK };
__attribute__((noinline)) static void *new_request_buffer(size_t size) { return malloc(size); }
__attribute__((noinline)) static void *new_cache_entry(size_t size) { return malloc(size); }
__attribute__((noinline)) static void *new_session_record(size_t size) { return malloc(size); }
static int kind; /* what the current allocation is for */

/* One function of the table: the leaf allocates, the others call the next step of the path.
 * The empty asm keeps each call a real call (no tail call, no merging of the functions). */
#define STEP(n)                                                                    \
    __attribute__((noinline)) static void *step##n(int depth, const uint8_t *path, size_t size) { \
        void *p = depth > 0        ? table[path[0]](depth - 1, path + 1, size)                  \
                  : kind == CHURN ? new_request_buffer(size)                                     \
                  : kind == CACHE ? new_cache_entry(size) : new_session_record(size);            \
        __asm__ volatile("" ::"r"(p) : "memory");                                 \
        return p;                                                                  \
    }
STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7) STEP(8) STEP(9)
STEP(10) STEP(11) STEP(12) STEP(13) STEP(14) STEP(15) STEP(16) STEP(17) STEP(18) STEP(19)

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_random(void) { /* xorshift64*: deterministic, no libc state */
    rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}

/* Path number -> three function indices, then the call. */
static void *allocate_from(uint32_t path, size_t size) {
    uint8_t p[DEPTH + 1] = {(uint8_t)(path % FUNCTIONS), (uint8_t)(path / FUNCTIONS % FUNCTIONS),
                            (uint8_t)(path / (FUNCTIONS * FUNCTIONS) % FUNCTIONS), 0};
    return table[p[0]](DEPTH - 1, p + 1, size);
}

static void *cache[CACHE_SLOTS];

int main(int argc, char **argv) {
    step all[FUNCTIONS] = {step0, step1, step2, step3, step4, step5, step6, step7, step8, step9,
                           step10, step11, step12, step13, step14, step15, step16, step17, step18, step19};
    for (int i = 0; i < FUNCTIONS; i++) table[i] = all[i];
    long requests = argc > 1 ? atol(argv[1]) : 2500000;
    long leak_every = argc > 2 ? atol(argv[2]) : 100; /* a month-long run leaks more slowly */
    if (leak_every < 1) leak_every = 1;
    size_t leaked = 0;
    for (long r = 0; r < requests; r++) {
        void *work[3]; /* churn: a request's objects, freed when it is answered */
        kind = CHURN;
        for (int i = 0; i < 3; i++) work[i] = allocate_from(next_random() % CHURN_PATHS, 256 + next_random() % 2816);
        for (int i = 0; i < 3; i++) ((char *)work[i])[0] = 1, free(work[i]);
        /* the cache: the oldest entry makes room for this request's answer */
        size_t slot = (size_t)r % CACHE_SLOTS;
        free(cache[slot]);
        kind = CACHE;
        cache[slot] = allocate_from(CHURN_PATHS + next_random() % CACHE_PATHS, 512 + next_random() % 1536);
        if (r % leak_every == 0) { /* the slow leak: never freed, never referenced again */
            kind = LEAK;
            void *lost = allocate_from(CHURN_PATHS + CACHE_PATHS + next_random() % LEAK_PATHS, 2048);
            ((char *)lost)[0] = 1;
            leaked += 2048;
        }
    }
    for (size_t i = 0; i < CACHE_SLOTS; i++) free(cache[i]);
    printf("fastmotion: %ld requests, %zu bytes leaked\n", requests, leaked);
    return 0;
}
