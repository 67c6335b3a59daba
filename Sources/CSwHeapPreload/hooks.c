/* The interposed allocator entry points, and the library's constructor and destructor: the
 * only file of libswheap.so that is not part of the core (Sources/CSwHeap), because linking
 * it into a process replaces that process's malloc. Each entry point calls glibc's real
 * implementation (exported as __libc_*, so no dlsym bootstrap is needed) and pays one TLS
 * countdown charge; frees pay one filter load unless the pointer may be sampled.
 * malloc and calloc charge the countdown before calling glibc, so their fast path is a
 * frameless tail call (a failed allocation still charges its bytes: harmless). The
 * __libc_* entries are called through the GOT directly (noplt), not through PLT stubs. */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#define SW_NOPLT __attribute__((noplt))
extern void *__libc_malloc(size_t) SW_NOPLT;
extern void __libc_free(void *) SW_NOPLT;
extern void *__libc_calloc(size_t, size_t) SW_NOPLT;
extern void *__libc_realloc(void *, size_t) SW_NOPLT;
extern void *__libc_memalign(size_t, size_t) SW_NOPLT;
extern void *__libc_valloc(size_t) SW_NOPLT;
extern void *__libc_pvalloc(size_t) SW_NOPLT;

/* Charges a successful allocation to this thread's countdown (sw_countdown_charge). */
static inline void *allocated(void *p, size_t size) {
    if (SW_LIKELY(p != NULL) && SW_UNLIKELY(sw_countdown_charge(&sw_tls.sampler, size))) sw_countdown_expired(p, size);
    return p;
}

/* free(NULL) needs no test here: NULL hashes to filter slot 0 and sw_forget ignores it. */
static inline void released(void *p) {
    if (sw_live_maybe_contains(&sw_live_storage, (uintptr_t)p)) sw_forget(p);
}

/* The countdown ran out: allocate, then let the sampler decide (the countdown is still
 * expired, as the fast path left it). Out of line so the fast paths stay frameless. */
__attribute__((noinline)) static void *malloc_expired(size_t size) {
    void *p = __libc_malloc(size);
    if (p) sw_countdown_expired(p, size);
    return p;
}

__attribute__((noinline)) static void *calloc_expired(size_t n, size_t size, size_t total) {
    void *p = __libc_calloc(n, size);
    if (p) sw_countdown_expired(p, total);
    return p;
}

SW_EXPORT void *malloc(size_t size) {
    if (SW_UNLIKELY(sw_countdown_charge(&sw_tls.sampler, size))) return malloc_expired(size);
    return __libc_malloc(size);
}

SW_EXPORT void free(void *p) {
    released(p);
    __libc_free(p);
}

SW_EXPORT void *calloc(size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (SW_UNLIKELY(sw_countdown_charge(&sw_tls.sampler, total))) return calloc_expired(n, size, total);
    return __libc_calloc(n, size);
}

SW_EXPORT void *realloc(void *p, size_t size) {
    if (!p) return allocated(__libc_realloc(NULL, size), size);
    /* Take p out of the books before the real realloc can free it and hand the address
     * to another thread; put it back if the realloc fails and p stays valid. */
    sw_live_entry old;
    bool was_sampled = sw_live_maybe_contains(&sw_live_storage, (uintptr_t)p) &&
                       sw_live_remove(&sw_live_storage, (uintptr_t)p, &old);
    void *q = __libc_realloc(p, size);
    if (!q) {
        if (size != 0 && was_sampled) /* failed: p is untouched */
            sw_live_insert(&sw_live_storage, (uintptr_t)p, old.size, old.stack_id, old.birth_epoch);
        return NULL; /* realloc(p, 0) freed p */
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

static bool valid_alignment(size_t alignment) {
    return alignment != 0 && (alignment & (alignment - 1)) == 0;
}

SW_EXPORT int posix_memalign(void **out, size_t alignment, size_t size) {
    if (!valid_alignment(alignment) || alignment % sizeof(void *) != 0) return EINVAL;
    int saved = errno;
    void *p = __libc_memalign(alignment, size);
    if (!p) {
        errno = saved;
        return ENOMEM;
    }
    *out = allocated(p, size);
    return 0;
}

SW_EXPORT void *aligned_alloc(size_t alignment, size_t size) {
    if (!valid_alignment(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    return allocated(__libc_memalign(alignment, size), size);
}

SW_EXPORT void *memalign(size_t alignment, size_t size) { return allocated(__libc_memalign(alignment, size), size); }

SW_EXPORT void *valloc(size_t size) { return allocated(__libc_valloc(size), size); }

SW_EXPORT void *pvalloc(size_t size) { return allocated(__libc_pvalloc(size), size); }

/* Start-up and exit of the whole shim (lifecycle.c). Here, not in the core, so that the
 * unit tests' process, which links the core, starts no profiler. */
__attribute__((constructor)) static void swheap_start(void) { sw_lifecycle_start(); }

__attribute__((destructor)) static void swheap_finish(void) { sw_lifecycle_finish(); }
