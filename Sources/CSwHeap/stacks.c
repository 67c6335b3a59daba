/* Deduplicated stacks. Lookups of known stacks take no lock: records are immutable
 * once published and the index only ever gains entries. Memory is reserved up front
 * (untouched pages cost nothing) so nothing ever moves under a reader. */
#include "sw_stacks.h"

#include <string.h>

static uint64_t hash_pcs(const uintptr_t *pcs, uint32_t depth) {
    uint64_t h = 0xcbf29ce484222325ull ^ depth;
    for (uint32_t i = 0; i < depth; i++) {
        h ^= pcs[i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h ? h : 1;
}

static size_t index_bytes(uint32_t slots) { return (size_t)slots * sizeof(_Atomic uint32_t); }

sw_stack_table *sw_stacks_create(uint32_t max_stacks, size_t arena_bytes) {
    uint32_t slots = 1024;
    while (slots < max_stacks * 2u && slots < (1u << 30)) slots <<= 1;
    sw_stack_table *t = sw_os_map(sizeof *t, false);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->index = sw_os_map(index_bytes(slots), true);
    t->by_id = sw_os_map((size_t)(max_stacks + 1) * sizeof(sw_stack *), true);
    t->arena = sw_os_map(arena_bytes, true);
    if (!t->index || !t->by_id || !t->arena) {
        sw_stacks_destroy(t);
        return NULL;
    }
    t->index_mask = slots - 1;
    t->max_ids = max_stacks;
    t->arena_capacity = arena_bytes;
    /* Reserve id 1 for the empty stack, which also absorbs stacks that do not fit. */
    sw_stacks_intern(t, NULL, 0); /* the first stack added gets id 1 = SW_STACK_UNKNOWN */
    return t;
}

void sw_stacks_destroy(sw_stack_table *t) {
    if (!t) return;
    sw_os_unmap(t->index, index_bytes(t->index_mask + 1));
    sw_os_unmap(t->by_id, (size_t)(t->max_ids + 1) * sizeof(sw_stack *));
    sw_os_unmap(t->arena, t->arena_capacity);
    sw_os_unmap(t, sizeof *t);
}

static bool same(const sw_stack *s, uint64_t hash, const uintptr_t *pcs, uint32_t depth) {
    return s->hash == hash && s->depth == depth && (depth == 0 || memcmp(s->pcs, pcs, depth * sizeof *pcs) == 0);
}

/* Finds the stack or the empty slot where it would go. */
static _Atomic uint32_t *find(sw_stack_table *t, uint64_t hash, const uintptr_t *pcs, uint32_t depth,
                              uint32_t *found) {
    for (uint32_t i = (uint32_t)hash & t->index_mask;; i = (i + 1) & t->index_mask) {
        uint32_t id = atomic_load_explicit(&t->index[i], memory_order_acquire);
        if (id == 0) {
            *found = 0;
            return &t->index[i];
        }
        if (same(t->by_id[id], hash, pcs, depth)) {
            *found = id;
            return &t->index[i];
        }
    }
}

uint32_t sw_stacks_intern(sw_stack_table *t, const uintptr_t *pcs, uint32_t depth) {
    if (depth > SW_MAX_DEPTH) depth = SW_MAX_DEPTH;
    uint64_t hash = hash_pcs(pcs, depth);
    uint32_t id;
    find(t, hash, pcs, depth, &id);
    if (id) return id;

    sw_lock_acquire(&t->lock);
    _Atomic uint32_t *slot = find(t, hash, pcs, depth, &id); /* someone may have added it */
    if (!id) {
        uint32_t next = atomic_load_explicit(&t->count, memory_order_relaxed) + 1;
        size_t bytes = (sizeof(sw_stack) + depth * sizeof(uintptr_t) + 15) & ~(size_t)15;
        bool fits = next <= t->max_ids && t->arena_used + bytes <= t->arena_capacity;
        if (!fits) {
            atomic_store(&t->full, 1);
            id = SW_STACK_UNKNOWN;
        } else {
            sw_stack *s = (sw_stack *)(t->arena + t->arena_used);
            t->arena_used += bytes;
            s->hash = hash;
            s->id = next;
            s->depth = depth;
            if (depth) memcpy(s->pcs, pcs, depth * sizeof *pcs);
            t->by_id[next] = s;
            atomic_store_explicit(&t->count, next, memory_order_release);
            atomic_store_explicit(slot, next, memory_order_release);
            id = next;
        }
    }
    sw_lock_release(&t->lock);
    return id;
}

const sw_stack *sw_stacks_get(const sw_stack_table *t, uint32_t id) {
    uint32_t n = atomic_load_explicit(&((sw_stack_table *)t)->count, memory_order_acquire);
    return id >= 1 && id <= n ? t->by_id[id] : NULL;
}

uint32_t sw_stacks_count(const sw_stack_table *t) {
    return atomic_load_explicit(&((sw_stack_table *)t)->count, memory_order_acquire);
}

void sw_stacks_add_weight(sw_stack_table *t, uint32_t id, sw_weight w) {
    sw_stack *s = (sw_stack *)sw_stacks_get(t, id);
    if (!s) return;
    if (w.objects == 1.0 && w.bytes >= 0 && w.bytes < 0x1p63 && w.bytes == (double)(uint64_t)w.bytes) {
        atomic_fetch_add_explicit(&s->exact_objects, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->exact_bytes, (uint64_t)w.bytes, memory_order_relaxed);
        return;
    }
    sw_atomic_add_double(&s->alloc_objects, w.objects);
    sw_atomic_add_double(&s->alloc_bytes, w.bytes);
}

void sw_stacks_reset_weights(sw_stack_table *t) {
    uint32_t n = sw_stacks_count(t);
    for (uint32_t id = 1; id <= n; id++) {
        atomic_store(&t->by_id[id]->alloc_objects, 0);
        atomic_store(&t->by_id[id]->alloc_bytes, 0);
        atomic_store(&t->by_id[id]->exact_objects, 0);
        atomic_store(&t->by_id[id]->exact_bytes, 0);
    }
}

double sw_stacks_alloc_objects(const sw_stack *s) {
    return sw_atomic_load_double(&s->alloc_objects) + (double)atomic_load_explicit(&s->exact_objects, memory_order_relaxed);
}
double sw_stacks_alloc_bytes(const sw_stack *s) {
    return sw_atomic_load_double(&s->alloc_bytes) + (double)atomic_load_explicit(&s->exact_bytes, memory_order_relaxed);
}

void sw_stacks_prefork(sw_stack_table *t) { sw_lock_acquire(&t->lock); }

void sw_stacks_postfork_parent(sw_stack_table *t) { sw_lock_release(&t->lock); }

void sw_stacks_postfork_child(sw_stack_table *t) {
    sw_lock_release(&t->lock);
    sw_stacks_reset_weights(t);
}
