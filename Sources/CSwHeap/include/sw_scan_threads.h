/* Stopping the other threads for the exit scan (scan_threads.c), as LeakSanitizer stops
 * the world: each is sent a signal whose handler publishes its registers, stack pointer
 * and thread pointer, then waits until released. A thread that does not answer in time
 * fails the stop (the caller falls back); no one ever waits without a deadline. */
#ifndef SW_SCAN_THREADS_H
#define SW_SCAN_THREADS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SW_THREAD_REGS 32

typedef struct {
    pid_t tid;
    atomic_int state; /* 0 signalled, 1 stopped (fields valid), 2 gone, 3 asleep (only sp valid) */
    uintptr_t sp, tp, pc;
    uintptr_t regs[SW_THREAD_REGS];
    size_t nregs;
} sw_stopped_thread;

typedef struct {
    sw_stopped_thread *threads;
    size_t n, cap;
    size_t bytes;
    uint32_t failure; /* when the stop failed: SW_FALLBACK_* of swheap_format.h, with the thread id */
} sw_world;

/* Stops every thread but the caller; true when all answered within timeout_ns, or block
 * the signal while asleep in a system call (libdispatch's workers do): those are left
 * asleep, not stopped (should one wake during the scan, what it changes may be missed;
 * reads stay safe), and only their stack pointer is known (/proc/self/task/TID/syscall).
 * `skip_own`: the shim's own threads (sw_state_is_own_thread) are left running, for a live
 * scan whose copy of the process has none of them.
 * Call sw_world_release in every case. */
bool sw_world_stop(sw_world *w, uint64_t timeout_ns, bool skip_own);
/* Lets the others run on; returns when they were let go (CLOCK_MONOTONIC ns), before it
 * waits for their handlers to leave. */
uint64_t sw_world_release(sw_world *w);
/* Thread i answered: its registers, stack pointer and thread pointer are valid. */
bool sw_world_stopped(sw_world *w, size_t i);
/* Thread i blocks the signal and sleeps in a system call: only its stack pointer is valid. */
bool sw_world_asleep(sw_world *w, size_t i);
/* This thread's thread pointer (the TCB, beside its static TLS). */
uintptr_t sw_thread_pointer(void);

#endif
