/* The interposed allocator entry points, and the library's constructor and destructor: the
 * only file of libswheap.so that defines malloc and friends, because linking it into a
 * process replaces that process's malloc. Each entry point calls the next definition after
 * this library (sw_next, next_allocator.c: glibc, or jemalloc, tcmalloc, mimalloc when the program
 * uses one) and pays one TLS countdown charge; frees pay one filter load unless the pointer
 * may be sampled. malloc and calloc charge the countdown before calling the allocator, so
 * their fast path is a frameless tail call through sw_next (a failed allocation still
 * charges its bytes: harmless). Edge cases (odd alignments, overflows, size 0) are the
 * allocator's to decide: the hooks pass them through. */
#define _GNU_SOURCE
#include "sw_lifecycle.h"
#include "sw_live.h"
#include "sw_next_allocator.h"
#include "sw_os.h"
#include "sw_record.h"
#include "sw_state.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

/* Charges a successful allocation to this thread's countdown (sw_countdown_charge). */
static inline void *allocated(void *p, size_t size) {
    if (SW_LIKELY(p != NULL) && SW_UNLIKELY(sw_countdown_charge(&sw_tls.sampler, size))) sw_countdown_expired(p, size);
    return p;
}

/* The countdown ran out: allocate, then let the sampler decide (the countdown is still
 * expired, as the fast path left it). Out of line so the fast paths stay frameless. */
__attribute__((noinline)) static void *malloc_expired(size_t size) {
    void *p = sw_next.malloc(size);
    if (p) sw_countdown_expired(p, size);
    return p;
}

__attribute__((noinline)) static void *calloc_expired(size_t n, size_t size, size_t total) {
    void *p = sw_next.calloc(n, size);
    if (p) sw_countdown_expired(p, total);
    return p;
}

/* A pointer that may be sampled, or a bootstrap block (whose filter slot is marked too). */
__attribute__((noinline)) static void free_marked(void *p) {
    if (sw_next_owns(p)) return; /* never the real allocator's to free */
    sw_forget(p);
    sw_next.free(p);
}

SW_EXPORT void *malloc(size_t size) {
    if (SW_UNLIKELY(sw_countdown_charge(&sw_tls.sampler, size))) return malloc_expired(size);
    return sw_next.malloc(size);
}

/* free(NULL) needs no test here: NULL hashes to filter slot 0 and sw_forget ignores it. */
SW_EXPORT void free(void *p) {
    if (sw_live_maybe_contains(&sw_live_storage, (uintptr_t)p)) free_marked(p);
    else sw_next.free(p);
}

SW_EXPORT void *calloc(size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) return sw_next.calloc(n, size); /* the allocator says ENOMEM */
    if (SW_UNLIKELY(sw_countdown_charge(&sw_tls.sampler, total))) return calloc_expired(n, size, total);
    return sw_next.calloc(n, size);
}

SW_EXPORT void *realloc(void *p, size_t size) {
    if (!p) return allocated(sw_next.realloc(NULL, size), size);
    /* Take p out of the books before the real realloc can free it and hand the address
     * to another thread; put it back if the realloc fails and p stays valid. */
    sw_live_entry old;
    bool was_sampled = false;
    if (sw_live_maybe_contains(&sw_live_storage, (uintptr_t)p)) {
        if (sw_next_owns(p)) return allocated(sw_next_move_owned(p, size), size);
        if (!sw_sanitizer_follows_thread()) return allocated(sw_next.realloc(p, size), size);
        sw_tls.busy++; /* holds a stripe lock: an _exit from a signal handler must not dump */
        was_sampled = sw_live_remove(&sw_live_storage, (uintptr_t)p, &old);
        sw_tls.busy--;
    }
    void *q = sw_next.realloc(p, size);
    if (!q) {
        if (size != 0 && was_sampled) { /* failed: p is untouched */
            sw_tls.busy++;
            sw_live_insert(&sw_live_storage, (uintptr_t)p, old.size, old.stack_id, old.birth_epoch);
            sw_tls.busy--;
        }
        return NULL; /* or realloc(p, 0) freed p */
    }
    return allocated(q, size);
}

SW_EXPORT void *reallocarray(void *p, size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, total);
}

SW_EXPORT int posix_memalign(void **out, size_t alignment, size_t size) {
    int r = sw_next.posix_memalign(out, alignment, size);
    if (r == 0) allocated(*out, size);
    return r;
}

SW_EXPORT void *aligned_alloc(size_t alignment, size_t size) { return allocated(sw_next.aligned_alloc(alignment, size), size); }

SW_EXPORT void *memalign(size_t alignment, size_t size) { return allocated(sw_next.memalign(alignment, size), size); }

SW_EXPORT void *valloc(size_t size) { return allocated(sw_next.valloc(size), size); }

SW_EXPORT void *pvalloc(size_t size) { return allocated(sw_next.pvalloc(size), size); }

/* Start-up and exit of the whole shim (lifecycle.c). Here, not in the core, so that the
 * unit tests' process, which links the core, starts no profiler. */
__attribute__((constructor)) static void swheap_start(void) { sw_lifecycle_start(); }

__attribute__((destructor)) static void swheap_finish(void) { sw_lifecycle_finish(); }
