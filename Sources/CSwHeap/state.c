/* The owner of the shim's process-wide state (sw_state.h says what it holds and its
 * invariants). Only data and the operations on it live here: this file calls no other part
 * of the shim but the tables it owns, so every other file may depend on it and nothing
 * here depends back on them. */
#define _GNU_SOURCE
#include "sw_state.h"

#include <sys/syscall.h>
#include <unistd.h>

sw_state sw;
sw_live_table sw_live_storage;
__thread sw_thread sw_tls __attribute__((tls_model("initial-exec")));

static atomic_int open_for_samples;
static _Atomic uint32_t epoch;               /* birth epoch of allocations made now */
static _Atomic uint64_t sampled_bytes;       /* estimated bytes allocated since the last dump (double bits) */
static atomic_int live_table_full, stack_table_full;
enum { OWN_THREADS = 8 };
static atomic_int own_tids[OWN_THREADS]; /* the shim's threads alive now, 0 = free slot */

enum { STACK_IDS = 1u << 20 };
#define STACK_ARENA_BYTES ((size_t)1 << 30)

bool sw_state_create_tables(void) {
    sw.stacks = sw_stacks_create(STACK_IDS, STACK_ARENA_BYTES);
    return sw.stacks != NULL;
}

void sw_state_open(void) { atomic_store_explicit(&open_for_samples, 1, memory_order_release); }
void sw_state_close(void) { atomic_store_explicit(&open_for_samples, 0, memory_order_release); }
bool sw_state_is_open(void) { return atomic_load_explicit(&open_for_samples, memory_order_acquire); }

uint32_t sw_state_epoch(void) { return atomic_load_explicit(&epoch, memory_order_relaxed); }
void sw_state_set_epoch(uint32_t e) { atomic_store(&epoch, e); }

bool sw_state_count_sampled_bytes(double bytes) {
    if (!sw.config.dump_bytes) return false;
    sw_atomic_add_double(&sampled_bytes, bytes);
    return sw_atomic_load_double(&sampled_bytes) >= (double)sw.config.dump_bytes;
}

void sw_state_clear_sampled_bytes(void) { atomic_store_explicit(&sampled_bytes, 0, memory_order_relaxed); /* 0.0 */ }

bool sw_state_note_live_table_full(void) { return !atomic_exchange(&live_table_full, 1); }
bool sw_state_note_stack_table_full(void) { return !atomic_exchange(&stack_table_full, 1); }

bool sw_state_truncated(void) {
    return atomic_load(&live_table_full) || atomic_load(&stack_table_full) || (sw.stacks && atomic_load(&sw.stacks->full));
}

static bool copy_entry(const sw_live_entry *e, void *ctx) {
    sw_snapshot_entry s = {e->ptr, e->size, e->stack_id, e->birth_epoch};
    sw_buf_put(ctx, &s, sizeof s);
    return !((sw_buffer *)ctx)->failed;
}

bool sw_state_snapshot_live(sw_buffer *out) {
    sw_live_foreach(&sw_live_storage, copy_entry, out);
    return !out->failed;
}

size_t sw_state_own_memory(sw_range *out, size_t cap) {
    size_t n = 0;
    for (int i = 0; i < SW_LIVE_STRIPES && n < cap; i++) {
        const sw_live_stripe *st = &sw_live_storage.stripes[i];
        if (st->slots) out[n++] = (sw_range){(uintptr_t)st->slots, (uintptr_t)(st->slots + st->capacity)};
    }
    const sw_stack_table *t = sw.stacks;
    if (!t) return n;
    sw_range tables[] = {
        {(uintptr_t)t->arena, (uintptr_t)t->arena + t->arena_capacity},
        {(uintptr_t)t->index, (uintptr_t)(t->index + (size_t)t->index_mask + 1)},
        {(uintptr_t)t->by_id, (uintptr_t)(t->by_id + (size_t)t->max_ids + 1)},
    };
    for (size_t i = 0; i < sizeof tables / sizeof *tables && n < cap; i++)
        if (tables[i].lo) out[n++] = tables[i];
    return n;
}

void sw_state_own_thread(int delta) {
    int tid = (int)syscall(SYS_gettid), from = delta > 0 ? 0 : tid;
    for (int i = 0; i < OWN_THREADS; i++) {
        int expected = from;
        if (atomic_compare_exchange_strong(&own_tids[i], &expected, delta > 0 ? tid : 0)) return;
    }
}

uint32_t sw_state_own_threads(void) {
    uint32_t n = 0;
    for (int i = 0; i < OWN_THREADS; i++) n += atomic_load(&own_tids[i]) != 0;
    return n;
}

bool sw_state_is_own_thread(pid_t tid) {
    for (int i = 0; i < OWN_THREADS; i++)
        if (tid && atomic_load(&own_tids[i]) == tid) return true;
    return false;
}

void sw_state_prefork(void) {
    sw_stacks_prefork(sw.stacks);
    sw_live_prefork(&sw_live_storage);
}

void sw_state_postfork_parent(void) {
    sw_live_postfork_parent(&sw_live_storage);
    sw_stacks_postfork_parent(sw.stacks);
}

void sw_state_postfork_child(void) {
    sw_live_postfork_child(&sw_live_storage);
    sw_stacks_postfork_child(sw.stacks);
    atomic_store(&live_table_full, 0);
    atomic_store(&stack_table_full, 0);
    for (int i = 0; i < OWN_THREADS; i++) atomic_store(&own_tids[i], 0); /* they did not survive fork */
    sw_state_clear_sampled_bytes();
}
