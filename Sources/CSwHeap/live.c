/* The table of live sampled allocations. Frees of unsampled pointers (nearly all of
 * them) stop at the counting filter: one relaxed load, no lock, no atomic RMW. */
#include "sw_live.h"

#include <string.h>

#define EMPTY ((uintptr_t)0)

sw_live_table *sw_live_create(void) {
    sw_live_table *t = sw_os_map(sizeof(sw_live_table), false);
    if (t) memset(t, 0, sizeof *t);
    return t;
}

static void drop_slots(sw_live_stripe *s) {
    sw_os_unmap(s->slots, (size_t)s->capacity * sizeof(sw_live_entry));
    s->slots = NULL;
    s->capacity = s->used = 0;
}

void sw_live_destroy(sw_live_table *t) {
    if (!t) return;
    for (int i = 0; i < SW_LIVE_STRIPES; i++) drop_slots(&t->stripes[i]);
    sw_os_unmap(t, sizeof *t);
}

void sw_live_reset(sw_live_table *t) {
    for (int i = 0; i < SW_LIVE_STRIPES; i++) {
        sw_live_stripe *s = &t->stripes[i];
        sw_lock_acquire(&s->lock);
        drop_slots(s);
        sw_lock_release(&s->lock);
    }
    for (size_t i = 0; i < SW_FILTER_SLOTS; i++) atomic_store_explicit(&t->filter[i], 0, memory_order_relaxed);
}

static inline sw_live_stripe *stripe_of(sw_live_table *t, uint64_t h) {
    return &t->stripes[(h >> 58) & (SW_LIVE_STRIPES - 1)];
}

static inline _Atomic uint8_t *filter_of(sw_live_table *t, uint64_t h) {
    return &t->filter[sw_live_filter_slot(h)];
}

/* Counters saturate at 255 and then stay: "maybe sampled" forever, still correct. */
static void filter_add(_Atomic uint8_t *c, int delta) {
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    while (v != 255 && !(delta < 0 && v == 0)) {
        if (atomic_compare_exchange_weak_explicit(c, &v, (uint8_t)(v + delta), memory_order_release,
                                                  memory_order_relaxed))
            return;
    }
}

void sw_live_pin(sw_live_table *t, uintptr_t p) {
    _Atomic uint8_t *c = filter_of(t, sw_live_hash(p));
    while (atomic_load_explicit(c, memory_order_relaxed) != 255) filter_add(c, +1); /* saturated: stays */
}

/* Linear probing from the entry's home slot: p's entry, or where it would go. */
static sw_live_entry *probe(sw_live_stripe *s, uintptr_t p, uint64_t h, bool for_insert) {
    uint32_t mask = s->capacity - 1;
    for (uint32_t i = (uint32_t)(h >> 8) & mask;; i = (i + 1) & mask) {
        sw_live_entry *e = &s->slots[i];
        if (e->ptr == p) return e;
        if (e->ptr == EMPTY) return for_insert ? e : NULL;
    }
}

static bool grow(sw_live_stripe *s) {
    uint32_t capacity = s->capacity ? s->capacity * 2 : 256;
    if (capacity == 0 || capacity > (1u << 30)) return false;
    sw_live_entry *slots = sw_os_map((size_t)capacity * sizeof(sw_live_entry), false);
    if (!slots) return false;
    sw_live_stripe fresh = {.capacity = capacity, .slots = slots};
    for (uint32_t i = 0; i < s->capacity; i++) {
        sw_live_entry *e = &s->slots[i];
        if (e->ptr != EMPTY) *probe(&fresh, e->ptr, sw_live_hash(e->ptr), true) = *e;
    }
    sw_os_unmap(s->slots, (size_t)s->capacity * sizeof(sw_live_entry));
    s->slots = slots;
    s->capacity = capacity;
    return true;
}

bool sw_live_insert(sw_live_table *t, uintptr_t p, uint64_t size, uint32_t stack_id, uint32_t birth_epoch) {
    if (p == EMPTY) return false;
    uint64_t h = sw_live_hash(p);
    sw_live_stripe *s = stripe_of(t, h);
    sw_lock_acquire(&s->lock);
    if ((uint64_t)(s->used + 1) * 2 > (uint64_t)s->capacity && !grow(s)) {
        sw_lock_release(&s->lock);
        atomic_store(&t->out_of_memory, 1);
        return false;
    }
    sw_live_entry *e = probe(s, p, h, true);
    bool fresh = e->ptr != p;
    if (fresh) s->used++;
    *e = (sw_live_entry){p, size, stack_id, birth_epoch};
    sw_lock_release(&s->lock);
    /* Counted before the pointer reaches the caller, so any later free sees it. */
    if (fresh) filter_add(filter_of(t, h), +1);
    return true;
}

/* Empties slot `hole` by moving later entries of its probe run back (backward-shift deletion
 * for linear probing): no tombstones, so probes stay as short as the load allows and a table
 * with as many frees as allocations never needs rehashing for deleted slots. */
static void close_hole(sw_live_stripe *s, uint32_t hole) {
    uint32_t mask = s->capacity - 1;
    for (uint32_t j = (hole + 1) & mask; s->slots[j].ptr != EMPTY; j = (j + 1) & mask) {
        uint32_t home = (uint32_t)(sw_live_hash(s->slots[j].ptr) >> 8) & mask;
        /* The entry at j may stay when its home lies cyclically in (hole, j]. */
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays) continue;
        s->slots[hole] = s->slots[j];
        hole = j;
    }
    s->slots[hole].ptr = EMPTY;
}

bool sw_live_remove(sw_live_table *t, uintptr_t p, sw_live_entry *out) {
    uint64_t h = sw_live_hash(p);
    sw_live_stripe *s = stripe_of(t, h);
    sw_lock_acquire(&s->lock);
    sw_live_entry *e = s->capacity ? probe(s, p, h, false) : NULL;
    if (e) {
        if (out) *out = *e;
        close_hole(s, (uint32_t)(e - s->slots));
        s->used--;
    }
    sw_lock_release(&s->lock);
    if (e) filter_add(filter_of(t, h), -1);
    return e != NULL;
}

size_t sw_live_count(sw_live_table *t) {
    size_t n = 0;
    for (int i = 0; i < SW_LIVE_STRIPES; i++) n += __atomic_load_n(&t->stripes[i].used, __ATOMIC_RELAXED);
    return n;
}

void sw_live_foreach(sw_live_table *t, bool (*visit)(const sw_live_entry *, void *), void *ctx) {
    for (int i = 0; i < SW_LIVE_STRIPES; i++) {
        sw_live_stripe *s = &t->stripes[i];
        sw_lock_acquire(&s->lock);
        bool go_on = true;
        for (uint32_t j = 0; j < s->capacity && go_on; j++)
            if (s->slots[j].ptr != EMPTY) go_on = visit(&s->slots[j], ctx);
        sw_lock_release(&s->lock);
        if (!go_on) return;
    }
}

void sw_live_lock_all(sw_live_table *t) {
    for (int i = 0; i < SW_LIVE_STRIPES; i++) sw_lock_acquire(&t->stripes[i].lock);
}

void sw_live_unlock_all(sw_live_table *t) {
    for (int i = 0; i < SW_LIVE_STRIPES; i++) sw_lock_release(&t->stripes[i].lock);
}

void sw_live_prefork(sw_live_table *t) { sw_live_lock_all(t); }

void sw_live_postfork_parent(sw_live_table *t) { sw_live_unlock_all(t); }

void sw_live_postfork_child(sw_live_table *t) {
    sw_live_unlock_all(t);
    sw_live_reset(t);
}
