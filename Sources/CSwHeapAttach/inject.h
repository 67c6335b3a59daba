/* Borrowing one thread of a running process to call functions in it (inject.c). */
#ifndef SWHEAP_ATTACH_INJECT_H
#define SWHEAP_ATTACH_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "target.h"

/* Where the target's code is: filled by inject_prepare from the target's maps and files. */
typedef struct {
    pid_t pid;
    mapping_list maps;
    module libc, loader, allocator; /* allocator: the module defining malloc when not libc */
    uintptr_t dlopen_fn, dlerror_fn;
    uintptr_t restore_rt;           /* glibc's __restore_rt: mov $15,%rax; syscall */
    uintptr_t syscall_ret;          /* a `syscall; ret` in libc, for reading a return value */
    /* functions a borrowed thread must not be inside (from libc's and the allocator's dynsym) */
    uintptr_t (*danger)[2];
    size_t dangers;
    bool seccomp;                   /* the target runs under a seccomp filter */
} target;

/* The outcome of inject_attach, for the command's output and the benchmark. */
typedef struct {
    pid_t thread;                 /* the borrowed thread */
    const char *safe_point;       /* what it was doing: "nanosleep", "running", ... */
    uint64_t borrowed_ns;         /* from its stop to its release */
    uint64_t tries;               /* threads stopped and let go before one was safe */
    uintptr_t library_base;       /* where libswheap.so was loaded */
    bool traced;                  /* followed by system-call stops (a restart-block sleep) */
    uint64_t mask0;               /* the thread's signal mask */
    bool retry;                   /* the thread could not be used: try another */
} inject_report;

/* Reads the target's maps and libc; false with a one-line message in `why`. */
bool inject_prepare(target *t, pid_t pid, char *why, size_t why_len);
void inject_release(target *t);

/* Borrows a thread at a safe point and has it call dlopen(shim, RTLD_NOW|RTLD_NODELETE) when
 * `shim` is not loaded yet (the library's constructor then calls swheap_attach with the
 * settings the injector left on the thread's stack), else swheap_attach(settings) at
 * shim_base + attach_fn_offset. The thread is never left stopped or changed: whatever
 * happens to this process, it resumes by itself exactly as it was (see inject.c). Returns
 * once the call is launched (or, for a thread in a restart-block sleep, done); the outcome is
 * in the library's control state. false with a one-line message in `why`. */
bool inject_attach(target *t, const char *shim, uintptr_t shim_base, uint64_t attach_fn_offset, const char *settings,
                   uint64_t timeout_ns, inject_report *report, char *why, size_t why_len);

/* After inject_attach launched the call untraced: whether the thread is still inside it. */
bool inject_call_running(const target *t, const inject_report *report);
/* dlopen of `shim` did not load it: borrows a thread once more, repeats the dlopen under
 * system-call stops and reads dlerror; the reason (and what to change) into `why`. */
void inject_explain_load_failure(target *t, const char *shim, char *why, size_t why_len);

/* A test hook: SWHEAP_ATTACH_DIE_AT=<step> makes the injector SIGKILL itself at that step
 * (1 thread stopped, 2 frame written, 3 call registers set, 4 about to let it run, 5 a
 * followed call back at its frame, 6-8 putting it back), to check that the target runs on
 * whatever happens; SWHEAP_ATTACH_PAUSE_AT=<step> waits 2 s there instead (the target may
 * exit meanwhile). */
void inject_maybe_die(int step);

#endif
