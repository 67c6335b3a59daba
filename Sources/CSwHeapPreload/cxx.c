/* C++ operator new and delete, every variant. Two reasons to define them here:
 * - jemalloc, tcmalloc and mimalloc define their own, which go to their allocator directly:
 *   without these, a C++ program on one of them would bypass the hooks for every new and
 *   delete;
 * - libstdc++'s operator new keeps no frame pointer, so SWHEAP_UNWIND=fp lost the frame of
 *   the function calling new. This library's frames are dropped from stacks, so the first
 *   frame kept is the caller's.
 * new calls the malloc hook and, only when it returns NULL, the next operator new, which
 * then does what C++ requires (new_handler, bad_alloc, or NULL for nothrow). delete is free.
 * That is what the known implementations do (libstdc++, libc++, jemalloc, tcmalloc, mimalloc). Any
 * other operator new after us (a library with its own pool) gets every call passed on
 * untouched, delete included, and keeps its semantics. */
#define _GNU_SOURCE
#include "sw_next_allocator.h"
#include "sw_os.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* 0 not decided, 1 this file serves new and delete, 2 pass every call on */
static _Atomic int mode;

static const char *const known[] = {"libstdc++", "libc++", "libjemalloc", "libtcmalloc", "libmimalloc"};

static int decide(void) {
    void *next = sw_next_symbol("_Znwm");
    Dl_info info;
    int m = 2;
    if (next && dladdr(next, &info) && info.dli_fname) {
        const char *base = strrchr(info.dli_fname, '/');
        base = base ? base + 1 : info.dli_fname;
        for (size_t i = 0; i < sizeof known / sizeof *known; i++)
            if (strncmp(base, known[i], strlen(known[i])) == 0) m = 1;
    }
    atomic_store_explicit(&mode, m, memory_order_relaxed);
    return m;
}

static inline bool serve(void) {
    int m = atomic_load_explicit(&mode, memory_order_relaxed);
    return (m ? m : decide()) == 1;
}

/* The next definition of one variant, looked up at its first use. */
static void *next_of(void *_Atomic *slot, const char *name) {
    void *f = atomic_load_explicit(slot, memory_order_relaxed);
    if (!f) {
        f = sw_next_symbol(name);
        atomic_store_explicit(slot, f, memory_order_relaxed);
    }
    return f;
}

static void *aligned(size_t size, size_t alignment) {
    if (alignment < sizeof(void *)) alignment = sizeof(void *);
    void *p;
    return posix_memalign(&p, alignment, size) == 0 ? p : NULL;
}

/* One plain and one aligned new, each with its nothrow twin; the tag (std::nothrow_t) is
 * passed on as an opaque pointer. */
#define DEFINE_NEW(symbol, nothrow_symbol)                                                     \
    static void *_Atomic next_##symbol, *_Atomic next_##nothrow_symbol;                        \
    SW_EXPORT void *symbol(size_t size) {                                                      \
        void *p = serve() ? malloc(size) : NULL;                                               \
        if (SW_LIKELY(p != NULL)) return p;                                                    \
        return ((void *(*)(size_t))next_of(&next_##symbol, #symbol))(size);                    \
    }                                                                                          \
    SW_EXPORT void *nothrow_symbol(size_t size, const void *tag) {                             \
        void *p = serve() ? malloc(size) : NULL;                                               \
        if (SW_LIKELY(p != NULL)) return p;                                                    \
        return ((void *(*)(size_t, const void *))next_of(&next_##nothrow_symbol, #nothrow_symbol))(size, tag); \
    }

#define DEFINE_ALIGNED_NEW(symbol, nothrow_symbol)                                             \
    static void *_Atomic next_##symbol, *_Atomic next_##nothrow_symbol;                        \
    SW_EXPORT void *symbol(size_t size, size_t alignment) {                                    \
        void *p = serve() ? aligned(size, alignment) : NULL;                                   \
        if (SW_LIKELY(p != NULL)) return p;                                                    \
        return ((void *(*)(size_t, size_t))next_of(&next_##symbol, #symbol))(size, alignment); \
    }                                                                                          \
    SW_EXPORT void *nothrow_symbol(size_t size, size_t alignment, const void *tag) {           \
        void *p = serve() ? aligned(size, alignment) : NULL;                                   \
        if (SW_LIKELY(p != NULL)) return p;                                                    \
        return ((void *(*)(size_t, size_t, const void *))next_of(&next_##nothrow_symbol, #nothrow_symbol))(size, alignment, tag); \
    }

DEFINE_NEW(_Znwm, _ZnwmRKSt9nothrow_t)
DEFINE_NEW(_Znam, _ZnamRKSt9nothrow_t)
DEFINE_ALIGNED_NEW(_ZnwmSt11align_val_t, _ZnwmSt11align_val_tRKSt9nothrow_t)
DEFINE_ALIGNED_NEW(_ZnamSt11align_val_t, _ZnamSt11align_val_tRKSt9nothrow_t)

/* Every delete is free; the extra arguments (size, alignment, tag) are passed on only to a
 * next definition that is not a known one. Three integer-class arguments cover them all
 * (x86-64 and AArch64 pass them in registers: unused ones are ignored by the callee). */
#define DEFINE_DELETE(symbol)                                                                  \
    static void *_Atomic next_##symbol;                                                        \
    SW_EXPORT void symbol(void *p, uintptr_t a, uintptr_t b) {                                 \
        if (SW_LIKELY(serve())) {                                                              \
            free(p);                                                                           \
            return;                                                                            \
        }                                                                                      \
        ((void (*)(void *, uintptr_t, uintptr_t))next_of(&next_##symbol, #symbol))(p, a, b);    \
    }

DEFINE_DELETE(_ZdlPv)
DEFINE_DELETE(_ZdaPv)
DEFINE_DELETE(_ZdlPvm)
DEFINE_DELETE(_ZdaPvm)
DEFINE_DELETE(_ZdlPvRKSt9nothrow_t)
DEFINE_DELETE(_ZdaPvRKSt9nothrow_t)
DEFINE_DELETE(_ZdlPvSt11align_val_t)
DEFINE_DELETE(_ZdaPvSt11align_val_t)
DEFINE_DELETE(_ZdlPvmSt11align_val_t)
DEFINE_DELETE(_ZdaPvmSt11align_val_t)
DEFINE_DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t)
DEFINE_DELETE(_ZdaPvSt11align_val_tRKSt9nothrow_t)
