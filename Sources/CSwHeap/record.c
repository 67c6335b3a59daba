/* The sampled path: taken about once every SWHEAP_RATE bytes, so it may unwind and take
 * short locks. It never holds a lock while unwinding (the unwinder may take the loader
 * lock, and a thread inside dlopen holding that lock may be calling malloc). It only writes
 * the state's tables and counters, and signals the writer when SWHEAP_DUMP_BYTES is due. */
#define _GNU_SOURCE
#include "sw_dumper.h"
#include "sw_record.h"
#include "sw_state.h"
#include "sw_unwind.h"

#include <errno.h>

static void record_allocation(void *p, size_t size, uintptr_t hook_frame);

/* The id of the caller's stack: from this thread's stack cache when the call path is one it
 * unwound before (sw_stack_cache.h says why that is exact), else unwound and interned.
 * *depth is the unwound depth, 1 for a cached stack (only "empty or not" is asked of it). */
enum { MISSES_PER_STORE = 16 };

static uint32_t stack_of_this_call(uintptr_t hook_frame, uint32_t *depth) {
    uintptr_t pcs[SW_MAX_DEPTH];
    sw_stack_origin origin;
    bool cacheable = !sw.config.frame_pointers && sw_unwind_origin(&origin, hook_frame);
    if (cacheable) {
        uint32_t id = sw_stack_cache_find(&origin);
        if (id) {
            *depth = 1;
            return id;
        }
        /* A miss that is stored costs a cursor walk, several times the fast backtrace on deep
         * stacks; only one miss in MISSES_PER_STORE pays it, the others take the fast way. */
        if (sw_tls.misses++ % MISSES_PER_STORE) {
            *depth = sw_unwind(pcs, sw.config.depth);
            return sw_stacks_intern(sw.stacks, pcs, *depth);
        }
        uintptr_t slots[SW_MAX_DEPTH];
        *depth = sw_unwind_with_slots(pcs, slots, sw.config.depth);
        uint32_t id2 = sw_stacks_intern(sw.stacks, pcs, *depth);
        if (id2 != SW_STACK_UNKNOWN) sw_stack_cache_store(&origin, pcs, slots, *depth, id2);
        return id2;
    }
    *depth = sw_unwind(pcs, sw.config.depth);
    return sw_stacks_intern(sw.stacks, pcs, *depth);
}

__attribute__((noinline)) void sw_countdown_expired(void *p, size_t size) {
    /* Before start-up finishes, and inside the profiler, leave the countdown expired:
     * nothing is sampled and the next allocation asks again. */
    if (!sw_state_is_open() || sw_tls.busy) return;
    if (!sw_sampler_expired(&sw_tls.sampler, size, sw.config.rate) || !sw_sanitizer_follows_thread()) return;
    /* The hooks call this directly: the program's frames start a frame or two above it. */
    record_allocation(p, size, (uintptr_t)__builtin_frame_address(0));
}

static void record_allocation(void *p, size_t size, uintptr_t hook_frame) {
    /* The program may read errno after a successful malloc: unwinding and the tables must
     * leave it as the allocator did. */
    int saved_errno = errno;
    sw_tls.busy = 1;
    uint32_t depth = 0, id = stack_of_this_call(hook_frame, &depth);
    sw_weight w = sw_sample_weight(size, sw.config.rate);
    sw_stacks_add_weight(sw.stacks, id, w);
    if (!sw_live_insert(&sw_live_storage, (uintptr_t)p, size, id, sw_state_epoch()) && sw_state_note_live_table_full())
        sw_warn(SW_WARN_MEMORY, "out of memory for the live table", NULL, "figures are lower bounds from now on");
    if (id == SW_STACK_UNKNOWN && depth > 0 && sw_state_note_stack_table_full())
        sw_warn(SW_WARN_STACKS, "the stack table is full", NULL, "new stacks are counted under an empty stack");
    if (sw_state_count_sampled_bytes(w.bytes)) sw_dumper_poke();
    sw_tls.busy = 0;
    errno = saved_errno;
}

/* busy while a stripe lock is held: an _exit from a signal handler then writes no dump. */
__attribute__((noinline)) void sw_forget(void *p) {
    if (!p || !sw_sanitizer_follows_thread()) return;
    sw_tls.busy++;
    sw_live_remove(&sw_live_storage, (uintptr_t)p, NULL);
    sw_tls.busy--;
}
