/* Operating-system helpers (os.c): memory from mmap, a spin lock, atomic doubles, the
 * clock and one-line warnings. Never malloc: the shim must not recurse into what it watches. */
#ifndef SW_OS_H
#define SW_OS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* x86_64 only: the exit scan reads x86-64 registers, the thread pointer's TLS layout and
 * glibc's x86-64 heap; the spin lock pauses with x86's `pause`. Another architecture needs
 * those ported and tested (README, "Requirements"), not a silent build. */
#if !defined(__x86_64__)
#error "the swheap shim supports x86_64 Linux only"
#endif

#define SW_EXPORT __attribute__((visibility("default")))
#define SW_LIKELY(x) __builtin_expect(!!(x), 1)
#define SW_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Anonymous private memory; NULL on failure. `reserve` maps without swap
 * reservation so large tables only cost what is touched. */
void *sw_os_map(size_t bytes, bool reserve);
void sw_os_unmap(void *p, size_t bytes);

static inline void sw_cpu_relax(void) { __builtin_ia32_pause(); }

/* A tiny test-and-test-and-set lock: no allocation, no futex bookkeeping. The uncontended
 * acquire and the release are inline (the exact mode takes a lock at every allocation and
 * free); waiting is out of line. */
typedef struct { atomic_int held; } sw_lock;
void sw_lock_wait(sw_lock *l);
static inline void sw_lock_acquire(sw_lock *l) {
    if (__builtin_expect(atomic_exchange_explicit(&l->held, 1, memory_order_acquire), 0)) sw_lock_wait(l);
}
static inline void sw_lock_release(sw_lock *l) { atomic_store_explicit(&l->held, 0, memory_order_release); }

/* Doubles kept as atomic bit patterns (C11 has no atomic floating-point add). */
void sw_atomic_add_double(_Atomic uint64_t *bits, double delta);
double sw_atomic_load_double(const _Atomic uint64_t *bits);

/* A clock reading in ns (CLOCK_MONOTONIC or CLOCK_REALTIME). */
uint64_t sw_now_ns(int clock);

/* Calls `each(name, ctx)` for every entry of the directory open as `fd`, read with raw
 * getdents64 (no opendir: its DIR is a block of the program's heap, see dumpfile.c), until it
 * returns false. Returns false if reading the directory failed. Does not close `fd`. */
bool sw_os_each_entry(int fd, bool (*each)(const char *name, void *ctx), void *ctx);

/* Every descriptor the shim opens, opened through here. The shim opens files on its own
 * threads while the program's run, and a program may close a number it no longer owns: bash
 * closes a pipe's number twice, a daemon closes every number it did not open. Whatever the
 * shim held under that number is gone, and if the program's next open gets the number back
 * the shim would read the program's pipe or write a dump into its file. So a descriptor leaves
 * the low numbers at once, for SW_OS_FD_FLOOR or above, and only after the copy is checked to
 * name what was opened (device and inode of `path` again); a number taken back in between is
 * left to the program and the open tried again. Stays low only when the descriptor limit
 * leaves no room above the floor. `opener` is openat's shape (sw_io.open, the tests' seam). */
enum { SW_OS_FD_FLOOR = 512 };
typedef int (*sw_opener)(int dir, const char *path, int flags, mode_t mode);
int sw_os_open_with(sw_opener opener, int dir, const char *path, int flags, mode_t mode);
int sw_os_open(int dir, const char *path, int flags, mode_t mode);
/* openat itself, in sw_opener's shape (the seam's default). */
int sw_os_openat(int dir, const char *path, int flags, mode_t mode);

/* The program's short name (argv[0]'s last part), for messages. */
const char *sw_process_name(void);

/* A message on stderr, at most once per kind, without stdio or malloc:
 * "swheap: <what>: <detail>; <consequence>". */
typedef enum { SW_WARN_SETTING, SW_WARN_DIRECTORY, SW_WARN_DUMP, SW_WARN_THREAD, SW_WARN_MEMORY, SW_WARN_STACKS, SW_WARN_DEEPBIND,
               SW_WARN_BUDGET, SW_WARN_BUDGET_EXCEEDED } sw_warning;
void sw_warn(sw_warning kind, const char *what, const char *detail, const char *consequence);
/* Where warnings go instead of stderr when set (attach mode: to `swheap attach`, so the
 * program's own output stays untouched). Called with the whole line, at most once per kind. */
extern void (*sw_warn_sink)(const char *line);

#endif
