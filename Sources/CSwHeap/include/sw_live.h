/* The table of live sampled allocations (live.c). */
#ifndef SW_LIVE_H
#define SW_LIVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_os.h"

typedef struct {
    uintptr_t ptr;      /* 0 = empty slot */
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
    sw_live_entry *slots;
    char pad[64 - 2 * sizeof(uint64_t) - sizeof(void *)]; /* one stripe per cache line */
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
/* Marks p in the filter for good, without an entry: its frees take the slow path. */
void sw_live_pin(sw_live_table *t, uintptr_t p);
/* Removes p if it is a live sampled allocation; fills *out when given. */
bool sw_live_remove(sw_live_table *t, uintptr_t p, sw_live_entry *out);
/* Number of live entries (racy snapshot). */
size_t sw_live_count(sw_live_table *t);
/* Visits every entry, one stripe locked at a time; stops early when visit returns false. */
void sw_live_foreach(sw_live_table *t, bool (*visit)(const sw_live_entry *, void *), void *ctx);
void sw_live_lock_all(sw_live_table *t);
void sw_live_unlock_all(sw_live_table *t);
/* fork: no stripe lock may be held across it; the child starts with an empty table. */
void sw_live_prefork(sw_live_table *t);
void sw_live_postfork_parent(sw_live_table *t);
void sw_live_postfork_child(sw_live_table *t);

_Static_assert(sizeof(sw_live_stripe) == 64, "a stripe fills one cache line");

#endif
