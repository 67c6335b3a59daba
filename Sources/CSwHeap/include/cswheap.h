/* The testable core of the swheap shim: sampling maths, the table of live sampled
 * allocations and the deduplicating stack table. None of this allocates with malloc:
 * memory comes from mmap so the shim never recurses into the allocator it watches. */
#ifndef CSWHEAP_H
#define CSWHEAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- os memory ---------------------------------------------------------------- */

/* Anonymous private memory; NULL on failure. `reserve` maps without swap
 * reservation so large tables only cost what is touched. */
void *sw_os_map(size_t bytes, bool reserve);
void sw_os_unmap(void *p, size_t bytes);

/* A tiny test-and-test-and-set lock: no allocation, no futex bookkeeping. */
typedef struct { atomic_int held; } sw_lock;
void sw_lock_acquire(sw_lock *l);
void sw_lock_release(sw_lock *l);

/* Doubles kept as atomic bit patterns (C11 has no atomic floating-point add). */
void sw_atomic_add_double(_Atomic uint64_t *bits, double delta);
double sw_atomic_load_double(const _Atomic uint64_t *bits);

/* ---- sampler ------------------------------------------------------------------ */

/* Per-thread sampling state. Zero-initialised means "no countdown drawn yet". */
typedef struct {
    int64_t countdown;  /* bytes left before the next sample point */
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
 * re-arms the countdown. rate 0: never again; rate 1: every allocation. */
bool sw_sampler_expired(sw_sampler *s, uint64_t size, uint64_t rate);

/* The whole decision, for tests and for callers that are not on the hot path. */
static inline bool sw_sampler_take(sw_sampler *s, uint64_t size, uint64_t rate) {
    int64_t left = s->countdown - (int64_t)(size > INT64_MAX / 2 ? INT64_MAX / 2 : size);
    if (__builtin_expect(left > 0, 1)) {
        s->countdown = left;
        return false;
    }
    return sw_sampler_expired(s, size, rate);
}

/* Unbiased weight of a sample of `size` bytes: sampled with p = 1 - exp(-size/rate),
 * so it stands for 1/p objects and size/p bytes. rate 1 means exact: weight 1. */
sw_weight sw_sample_weight(uint64_t size, uint64_t rate);

/* ---- live table --------------------------------------------------------------- */

typedef struct {
    uintptr_t ptr;      /* 0 = empty slot, 1 = deleted slot */
    uint64_t size;
    uint32_t stack_id;
    uint32_t birth_epoch;
} sw_live_entry;

#define SW_LIVE_STRIPES 64
#define SW_FILTER_SLOTS (1u << 16)

typedef struct {
    sw_lock lock;
    uint32_t capacity;  /* power of two, 0 before first insert */
    uint32_t used;
    uint32_t deleted;
    sw_live_entry *slots;
    char pad[64 - sizeof(sw_lock) - 3 * sizeof(uint32_t) - sizeof(void *)];
} sw_live_stripe;

/* Live sampled allocations. A counting filter in front answers "certainly not sampled"
 * for a freed pointer in one load, without a lock; striped hash tables behind it. */
typedef struct {
    _Atomic uint8_t filter[SW_FILTER_SLOTS];
    sw_live_stripe stripes[SW_LIVE_STRIPES];
    atomic_int out_of_memory;
} sw_live_table;

sw_live_table *sw_live_create(void);
void sw_live_destroy(sw_live_table *t);
/* Forget every entry (a forked child starts clean). Caller holds no stripe lock. */
void sw_live_reset(sw_live_table *t);

/* Fibonacci hashing: the filter and the stripe use the product's top bits, which mix every
 * bit of p (malloc's zero low bits need no shift first). */
static inline uint64_t sw_live_hash(uintptr_t p) {
    return (uint64_t)p * 0x9E3779B97F4A7C15ull;
}
/* The filter counter of hash h: its top bits, so the index needs no extra mask. */
static inline uint32_t sw_live_filter_slot(uint64_t h) {
    return (uint32_t)(h >> (64 - 16)) & (SW_FILTER_SLOTS - 1);
}
static inline bool sw_live_maybe_contains(const sw_live_table *t, uintptr_t p) {
    return atomic_load_explicit(&t->filter[sw_live_filter_slot(sw_live_hash(p))], memory_order_relaxed) != 0;
}

/* false when the table could not grow (the sample is dropped). */
bool sw_live_insert(sw_live_table *t, uintptr_t p, uint64_t size, uint32_t stack_id, uint32_t birth_epoch);
/* Removes p if it is a live sampled allocation; fills *out when given. */
bool sw_live_remove(sw_live_table *t, uintptr_t p, sw_live_entry *out);
/* Number of live entries (racy snapshot). */
size_t sw_live_count(sw_live_table *t);
/* Visits every entry, one stripe locked at a time; stops early when visit returns false. */
void sw_live_foreach(sw_live_table *t, bool (*visit)(const sw_live_entry *, void *), void *ctx);
void sw_live_lock_all(sw_live_table *t);
void sw_live_unlock_all(sw_live_table *t);

/* ---- stack table -------------------------------------------------------------- */

#define SW_MAX_DEPTH 128

typedef struct {
    uint64_t hash;
    uint32_t id;
    uint32_t depth;
    _Atomic uint64_t alloc_objects; /* double bits: estimated objects allocated */
    _Atomic uint64_t alloc_bytes;   /* double bits: estimated bytes allocated */
    uintptr_t pcs[];
} sw_stack;

typedef struct {
    sw_lock lock;                 /* taken only to add a stack */
    _Atomic uint32_t *index;      /* open addressing: slot -> stack id, 0 = empty */
    uint32_t index_mask;
    sw_stack **by_id;             /* id -> record; ids 1..count are published */
    uint32_t max_ids;
    _Atomic uint32_t count;
    char *arena;
    size_t arena_used;
    size_t arena_capacity;
    atomic_int full;              /* set once a stack could not be added */
} sw_stack_table;

/* Stack id 1 is the empty stack; it also stands for stacks that did not fit. */
#define SW_STACK_UNKNOWN 1u

sw_stack_table *sw_stacks_create(uint32_t max_stacks, size_t arena_bytes);
void sw_stacks_destroy(sw_stack_table *t);
/* Returns the id of this stack, adding it if new. Lock-free when the stack is known. */
uint32_t sw_stacks_intern(sw_stack_table *t, const uintptr_t *pcs, uint32_t depth);
const sw_stack *sw_stacks_get(const sw_stack_table *t, uint32_t id);
uint32_t sw_stacks_count(const sw_stack_table *t);
void sw_stacks_add_weight(sw_stack_table *t, uint32_t id, sw_weight w);
/* Zero every stack's allocation totals (a forked child starts clean). */
void sw_stacks_reset_weights(sw_stack_table *t);
double sw_stacks_alloc_objects(const sw_stack *s);
double sw_stacks_alloc_bytes(const sw_stack *s);

#endif
