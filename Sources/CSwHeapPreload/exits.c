/* _exit and _Exit, which run no destructor: they write the exit dump as exit does
 * (sw_lifecycle_exit decides when that is safe), then end the process through the next
 * definition. quick_exit needs no hook: lifecycle.c registers an at_quick_exit handler. */
#define _GNU_SOURCE
#include "sw_lifecycle.h"
#include "sw_os.h"

#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

static void (*next_exit)(int);

/* Looked up at load, not in _exit itself: dlsym is not safe in a signal handler. */
__attribute__((constructor)) static void find_next_exit(void) {
    next_exit = (void (*)(int))dlsym(RTLD_NEXT, "_exit");
}

__attribute__((noreturn)) static void leave(int status) {
    sw_lifecycle_exit();
    if (next_exit) next_exit(status);
    for (;;) syscall(SYS_exit_group, status); /* what glibc's _exit does */
}

SW_EXPORT __attribute__((noreturn)) void _exit(int status) { leave(status); }

SW_EXPORT __attribute__((noreturn)) void _Exit(int status) { leave(status); }
