/* The interposed allocator entry points. Each calls glibc's real implementation
 * (exported as __libc_*, so no dlsym bootstrap is needed) and then pays one TLS
 * countdown decrement; frees pay one filter load unless the pointer may be sampled. */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

static inline void *allocated(void *p, size_t size) {
    if (SW_LIKELY(p != NULL)) {
        int64_t left = sw_tls.sampler.countdown - (int64_t)size;
        if (SW_LIKELY(left > 0)) sw_tls.sampler.countdown = left;
        else sw_countdown_expired(p, size);
    }
    return p;
}

static inline void released(void *p) {
    if (p && sw_live_maybe_contains(&sw_live_storage, (uintptr_t)p)) sw_forget(p);
}

SW_EXPORT void *malloc(size_t size) { return allocated(__libc_malloc(size), size); }

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
    return allocated(__libc_calloc(n, size), total);
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
