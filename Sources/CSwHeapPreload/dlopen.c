/* dlopen, for RTLD_DEEPBIND only: such a library binds malloc and free to the allocator
 * directly and bypasses these hooks, so its allocations would be invisible and its frees of
 * the program's blocks would leave phantom live objects. While profiling, the flag is
 * cleared, with a warning (heaptrack does the same). Every other call goes on untouched.
 * The real dlopen takes its caller from its return address (for RUNPATH, $ORIGIN and the
 * namespace): both paths end in a tail call, so it still sees the program's caller, not
 * this library (memray #212, heaptrack PR #48; ShimAllocatorTests checks a RUNPATH
 * lookup under the preload). */
#define _GNU_SOURCE
#include "sw_os.h"
#include "sw_state.h"

#include <dlfcn.h>

static void *(*next_dlopen)(const char *, int);

SW_EXPORT void *dlopen(const char *file, int flags) {
    if (SW_UNLIKELY(!next_dlopen)) next_dlopen = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    if (SW_UNLIKELY(flags & RTLD_DEEPBIND) && sw_state_is_open()) {
        sw_warn(SW_WARN_DEEPBIND, "loading without RTLD_DEEPBIND so that its malloc and free are seen", file,
                "its symbols bind like any other library's");
        flags &= ~RTLD_DEEPBIND;
    }
    return next_dlopen(file, flags);
}
