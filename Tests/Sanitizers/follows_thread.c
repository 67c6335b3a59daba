/* Whether the sanitizer runtime follows the calling thread, for scripts/sanitizers' build of
 * the shim only (compiled with -DSW_SANITIZER_GATE, without instrumentation; the real library
 * has no such file and its gate is a constant, sw_record.h).
 *
 * Under ThreadSanitizer a thread allocates before the runtime has set it up (glibc's
 * pthread_getattr_np reallocs inside TSan's own ThreadStart) and after it has torn it down
 * (ThreadFinish). Instrumented code there faults: __tsan_func_entry writes through a shadow
 * stack that does not exist yet. The runtime itself skips its interceptors' work in such a
 * thread, and it runs the malloc hooks (sanitizer/allocator_interface.h) only in a thread it
 * follows (invoke_malloc_hook in tsan_mman.cpp: not while ignore_interceptors is set, which it
 * is during ThreadStart, after ThreadFinish and after a multi-threaded fork). So a probe
 * allocation tells. AddressSanitizer runs its hooks in every thread: there the answer is
 * always yes. Asked only on the shim's slow paths (a sample about to be recorded, a free or
 * realloc of a block that may be sampled), so its cost does not matter. */
#define _GNU_SOURCE
#include "sw_next_allocator.h"
#include "sw_record.h"

#include <errno.h>

/* From the runtime's sanitizer/allocator_interface.h, which Debian's gcc 12 does not ship. */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static __thread int hooked __attribute__((tls_model("initial-exec")));

static void on_malloc(const volatile void *p, size_t size) {
    (void)p;
    (void)size;
    hooked = 1;
}

static void on_free(const volatile void *p) { (void)p; } /* the runtime wants both hooks */

/* At load: the runtime, a dependency of this library, is set up by then. */
__attribute__((constructor)) static void install(void) { __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free); }

bool sw_sanitizer_follows_thread(void) {
    int saved_errno = errno;
    hooked = 0;
    void *probe = sw_next.malloc(1);
    sw_next.free(probe);
    errno = saved_errno;
    return hooked;
}
