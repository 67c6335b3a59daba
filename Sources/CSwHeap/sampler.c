/* Poisson sampling over allocated bytes (the scheme of Go, jemalloc and tcmalloc):
 * sample points fall at exponential gaps of mean R bytes; an allocation is sampled
 * when a point falls inside it. An allocation of s bytes is charged s + 1 (so empty blocks
 * count too): it is sampled with probability 1 - exp(-(s + 1)/R). */
#include "swheap_format.h"
#include "sw_sampler.h"

#include <math.h>
#include <stdatomic.h>

static uint64_t next_random(sw_sampler *s) {
    if (s->rng == 0) {
        /* Seed from the state's own address and a counter: distinct per thread. */
        static _Atomic uint64_t seeds = 0x853c49e6748fea9bull;
        uint64_t x = atomic_fetch_add(&seeds, 0x9E3779B97F4A7C15ull) ^ (uint64_t)(uintptr_t)s;
        s->rng = x ? x : 1;
    }
    uint64_t x = s->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

int64_t sw_sampler_draw(sw_sampler *s, uint64_t rate) {
    /* U in (0,1]: 53 random bits, never zero so log stays finite. */
    double u = (double)((next_random(s) >> 11) + 1) * (1.0 / 9007199254740992.0);
    double gap = -(double)rate * log(u);
    if (gap > 4e18) gap = 4e18;
    return (int64_t)gap + 1;
}

bool sw_sampler_draw_expired(sw_sampler *s, uint64_t size, uint64_t rate) {
    if (rate == 0) {
        s->countdown = INT64_MAX;
        return false;
    }
    /* The countdown holds "bytes to the next point, minus one" (sw_countdown_charge). */
    int64_t charged = (int64_t)(size > INT64_MAX / 2 ? INT64_MAX / 2 : size) + 1;
    if (!s->drawn) {
        /* First allocation of this thread: draw lazily rather than sampling it. */
        s->drawn = 1;
        int64_t left = sw_sampler_draw(s, rate) - charged;
        if (left > 0) {
            s->countdown = left - 1;
            return false;
        }
    }
    /* Memoryless: the next point after this allocation is a fresh exponential gap. */
    s->countdown = sw_sampler_draw(s, rate) - 1;
    return true;
}

sw_weight sw_sample_weight(uint64_t size, uint64_t rate) {
    if (rate <= 1) return (sw_weight){1.0, (double)size};
    double p = sw_sample_probability((double)size, (double)rate);
    if (!(p > 0)) return (sw_weight){1.0, (double)size};
    return (sw_weight){1.0 / p, (double)size / p};
}
