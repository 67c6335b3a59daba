/* Recently unwound stacks, per thread, keyed by where the program called into the shim.
 *
 * Why it is exact: an unwind is a function of the registers at the call and of the memory it
 * reads. A stack is reused only when the return address into the program and its stack
 * address are the same as when it was unwound, and every deeper return address still sits at
 * the stack address it was read from (so each frame's code, hence its frame layout, and each
 * frame's position are the same). Frame positions follow from the stack pointer and the
 * code, except in frames sized at run time (alloca), whose change would move every frame
 * below them, the origin included. Entries hold the frames' positions relative to the origin.
 *
 * Memory: one mapping per thread, made at its first sampled allocation, released by a
 * thread-exit destructor; the pointer is the only thread-local word. */
#define _GNU_SOURCE
#include "sw_os.h"
#include "sw_stack_cache.h"

#include <pthread.h>

/* Sets of WAYS entries: one call site at one stack depth is often reached by several call
 * paths (an interpreter's loop), each of which keeps its own entry. */
enum { SETS = 128, WAYS = 4, ENTRIES = SETS * WAYS };

typedef struct {
    uintptr_t ra, slot;
    uint32_t depth, id;
    /* then pcs[max_depth] and offsets[max_depth] (uint32_t, bytes above the origin's slot) */
} entry_head;

static uint32_t max_depth;
static size_t entry_bytes, cache_bytes;
static pthread_key_t key;
static bool key_made;
static __thread char *cache __attribute__((tls_model("initial-exec")));

/* At thread exit. An allocation sampled later in this thread's exit (a later destructor) finds
 * no cache and may make another, which glibc hands to the next destructor round. */
static void release(void *mine) {
    if (mine == cache) cache = NULL;
    sw_os_unmap(mine, cache_bytes);
}

void sw_stack_cache_init(uint32_t depth) {
    max_depth = depth;
    entry_bytes = (sizeof(entry_head) + depth * (sizeof(uintptr_t) + sizeof(uint32_t)) + 15) & ~(size_t)15;
    cache_bytes = ((size_t)ENTRIES * entry_bytes + 4095) & ~(size_t)4095;
    key_made = pthread_key_create(&key, release) == 0;
}

static __thread uint32_t next_victim __attribute__((tls_model("initial-exec")));

/* The first entry of the origin's set. */
static entry_head *set_for(char *c, const sw_stack_origin *o) {
    uint64_t h = ((uint64_t)o->ra ^ ((uint64_t)o->slot << 17)) * 0x9E3779B97F4A7C15ull;
    return (entry_head *)(c + (size_t)(h >> 57) % SETS * WAYS * entry_bytes);
}

static entry_head *way(entry_head *set, uint32_t i) { return (entry_head *)((char *)set + i * entry_bytes); }

static uintptr_t *pcs_of(entry_head *e) { return (uintptr_t *)(e + 1); }
static uint32_t *offsets_of(entry_head *e) { return (uint32_t *)(pcs_of(e) + max_depth); }

/* Whether every return address of e still sits where it sat. Every slot lies between the
 * origin and the top of this thread's stack (checked when stored): mapped, only ever read. */
static bool still_there(entry_head *e, uintptr_t origin_slot) {
    const uintptr_t *pcs = pcs_of(e);
    const uint32_t *offsets = offsets_of(e);
    for (uint32_t i = 1; i < e->depth; i++)
        if (*(const uintptr_t *)(origin_slot + offsets[i]) != pcs[i]) return false;
    return true;
}

uint32_t sw_stack_cache_find(const sw_stack_origin *o) {
    if (!cache) return 0;
    entry_head *set = set_for(cache, o);
    for (uint32_t i = 0; i < WAYS; i++) {
        entry_head *e = way(set, i);
        if (e->ra == o->ra && e->slot == o->slot && e->id && still_there(e, o->slot)) return e->id;
    }
    return 0;
}

void sw_stack_cache_store(const sw_stack_origin *o, const uintptr_t *pcs, const uintptr_t *slots, uint32_t depth,
                          uint32_t id) {
    if (!key_made || depth == 0 || depth > max_depth || pcs[0] != o->ra || slots[0] != o->slot) return;
    for (uint32_t i = 1; i < depth; i++)
        if (slots[i] <= slots[i - 1] || slots[i] + sizeof(uintptr_t) > o->stack_hi || slots[i] - o->slot > UINT32_MAX ||
            *(const uintptr_t *)slots[i] != pcs[i])
            return;
    if (!cache) {
        cache = sw_os_map(cache_bytes, true);
        if (!cache) return;
        if (pthread_setspecific(key, cache) != 0) {
            sw_os_unmap(cache, cache_bytes);
            cache = NULL;
            return;
        }
    }
    entry_head *set = set_for(cache, o), *e = NULL;
    for (uint32_t i = 0; i < WAYS && !e; i++)
        if (!way(set, i)->id) e = way(set, i);
    if (!e) e = way(set, next_victim++ % WAYS);
    e->id = 0; /* this thread only: no reader sees it half written, but keep it clean */
    uintptr_t *to_pcs = pcs_of(e);
    uint32_t *offsets = offsets_of(e);
    for (uint32_t i = 0; i < depth; i++) {
        to_pcs[i] = pcs[i];
        offsets[i] = (uint32_t)(slots[i] - o->slot);
    }
    e->ra = o->ra;
    e->slot = o->slot;
    e->depth = depth;
    e->id = id;
}
