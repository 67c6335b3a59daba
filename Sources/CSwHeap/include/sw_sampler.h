/* Poisson sampling over allocated bytes (sampler.c) and the per-thread countdown. */
#ifndef SW_SAMPLER_H
#define SW_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

/* Per-thread sampling state. Zero-initialised means "no countdown drawn yet". */
typedef struct {
    int64_t countdown;  /* bytes left before the next sample point, minus one */
    uint64_t rng;       /* xorshift64* state, seeded lazily */
    uint8_t drawn;      /* whether countdown holds a real draw */
} sw_sampler;

/* What one sampled allocation stands for. */
typedef struct {
    double objects;
    double bytes;
} sw_weight;

/* Exponential gap with mean `rate`: floor(-rate * ln(U)) + 1, U uniform in (0,1]. */
int64_t sw_sampler_draw(sw_sampler *s, uint64_t rate);

/* Called when `countdown - size <= 0`. Decides whether this allocation is sampled and
 * re-arms the countdown. rate 0: never again; rate 1: every allocation (inline: exact mode
 * comes here at every allocation). */
bool sw_sampler_draw_expired(sw_sampler *s, uint64_t size, uint64_t rate);
static inline bool sw_sampler_expired(sw_sampler *s, uint64_t size, uint64_t rate) {
    if (rate == 1) {
        s->countdown = 0; /* every charge borrows */
        return true;
    }
    return sw_sampler_draw_expired(s, size, rate);
}

/* The countdown, charged on every allocation; the one copy of it (the hooks' fast paths
 * and sw_sampler_take both use it). An allocation of s bytes is charged s + 1 bytes, so
 * malloc(0) blocks can be sampled too (jemalloc likewise treats size 0 as 1). The countdown
 * holds the bytes left before the next sample point minus one, never negative: a charge
 * that borrows is the point falling inside this allocation. One subtraction both decides
 * and charges, so the fast path is no longer than with plain s. Sizes of 2^63 and more
 * expire it too (the countdown is below 2^63); SIZE_MAX, which no allocator can serve,
 * charges nothing.
 * true: the countdown ran out (left untouched), the caller goes the slow way. */
static inline bool sw_countdown_charge(sw_sampler *s, uint64_t size) {
    uint64_t left;
    if (__builtin_expect(__builtin_sub_overflow((uint64_t)s->countdown, size + 1, &left), 0)) return true;
    s->countdown = (int64_t)left;
    return false;
}

/* The whole decision, for tests and for callers that are not on the hot path. */
static inline bool sw_sampler_take(sw_sampler *s, uint64_t size, uint64_t rate) {
    if (!sw_countdown_charge(s, size)) return false;
    return sw_sampler_expired(s, size, rate);
}

/* Unbiased weight of a sample of `size` bytes: charged size + 1 bytes, so sampled with
 * p = 1 - exp(-(size + 1)/rate); it stands for 1/p objects and size/p bytes. rate 1 means
 * exact: weight 1. */
sw_weight sw_sample_weight(uint64_t size, uint64_t rate);

#endif
