/* The sampled path: taken about once every SWHEAP_RATE bytes, so it may unwind and take
 * short locks. It never holds a lock while unwinding (the unwinder may take the loader
 * lock, and a thread inside dlopen holding that lock may be calling malloc). */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>

/* The process-wide state (shim.h), defined beside the path that uses it most. */
sw_state sw;
sw_live_table sw_live_storage;
__thread sw_thread sw_tls __attribute__((tls_model("initial-exec")));

__attribute__((noinline)) void sw_countdown_expired(void *p, size_t size) {
    /* Before start-up finishes, and inside the profiler, leave the countdown expired:
     * nothing is sampled and the next allocation asks again. */
    if (!atomic_load_explicit(&sw.ready, memory_order_acquire) || sw_tls.busy) return;
    if (!sw_sampler_expired(&sw_tls.sampler, size, sw.config.rate) || !sw_sanitizer_follows_thread()) return;
    sw_record_allocation(p, size);
}

void sw_record_allocation(void *p, size_t size) {
    /* The program may read errno after a successful malloc: unwinding and the tables must
     * leave it as the allocator did. */
    int saved_errno = errno;
    sw_tls.busy = 1;
    uintptr_t pcs[SW_MAX_DEPTH];
    uint32_t depth = sw_unwind(pcs, sw.config.depth);
    uint32_t id = sw_stacks_intern(sw.stacks, pcs, depth);
    sw_weight w = sw_sample_weight(size, sw.config.rate);
    sw_stacks_add_weight(sw.stacks, id, w);
    uint32_t epoch = atomic_load_explicit(&sw.epoch, memory_order_relaxed);
    if (!sw_live_insert(&sw_live_storage, (uintptr_t)p, size, id, epoch)) {
        if (!atomic_exchange(&sw.truncated, 1)) sw_warn(SW_WARN_MEMORY, "out of memory for the live table", NULL, "figures are lower bounds from now on");
    }
    if (id == SW_STACK_UNKNOWN && depth > 0 && !atomic_exchange(&sw.truncated, 1))
        sw_warn(SW_WARN_STACKS, "the stack table is full", NULL, "new stacks are counted under an empty stack");
    if (sw.config.dump_bytes) {
        sw_atomic_add_double(&sw.sampled_bytes, w.bytes);
        if (sw_atomic_load_double(&sw.sampled_bytes) >= (double)sw.config.dump_bytes) sw_dumper_poke();
    }
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

void sw_record_reset(void) {
    atomic_store(&sw.truncated, 0);
    atomic_store_explicit(&sw.sampled_bytes, 0, memory_order_relaxed); /* 0.0 */
}
