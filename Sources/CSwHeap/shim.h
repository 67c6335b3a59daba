/* Internal state shared by the core's files: the settings, the process-wide tables and the
 * per-thread sampler. Compiled into the SwiftPM target too, but not visible to Swift (not
 * under include/); nothing here runs until the hooks call sw_lifecycle_start. */
#ifndef SWHEAP_SHIM_H
#define SWHEAP_SHIM_H

#include "cswheap.h"

#include <sys/types.h>

#define SW_EXPORT __attribute__((visibility("default")))
#define SW_LIKELY(x) __builtin_expect(!!(x), 1)
#define SW_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Settings read once from the environment (config.c). */
typedef struct {
    uint64_t rate;            /* SWHEAP_RATE, 0 = off, 1 = exact */
    uint32_t depth;           /* SWHEAP_DEPTH */
    uint64_t interval_ns;     /* SWHEAP_INTERVAL, 0 = no periodic dumps */
    uint64_t dump_bytes;      /* SWHEAP_DUMP_BYTES, 0 = off */
    int signal;               /* SWHEAP_SIGNAL, 0 = off */
    uint64_t keep;            /* SWHEAP_KEEP, 0 = keep every epoch file */
    bool follow;              /* SWHEAP_FOLLOW */
    bool scan;                /* SWHEAP_SCAN */
    bool frame_pointers;      /* SWHEAP_UNWIND=fp */
    char dir[4096];           /* SWHEAP_DIR or ./swheap.<program>.<pid>, absolute */
} sw_config;

/* Per-thread state; initial-exec TLS so the fast path is one segment-relative load. */
typedef struct {
    sw_sampler sampler;
    int busy; /* inside the profiler: allocations pass straight through */
} sw_thread;

typedef struct {
    sw_config config;
    atomic_int ready;         /* set once tables exist and the directory is usable */
    sw_stack_table *stacks;
    _Atomic uint32_t epoch;   /* birth epoch of allocations made now */
    uint64_t start_ns;        /* CLOCK_MONOTONIC when the shim started in this process */
    _Atomic uint64_t sampled_bytes; /* estimated bytes allocated since the last dump (double bits) */
    atomic_int truncated;
    uintptr_t self_lo, self_hi; /* this library's code, skipped when unwinding */
} sw_state;

extern sw_state sw;
/* Static, so the free fast path needs no pointer load and no "initialised yet?" test. */
extern sw_live_table sw_live_storage;
extern __thread sw_thread sw_tls __attribute__((tls_model("initial-exec")));

/* next_allocator.c: the allocator underneath, the next definition of each entry point after this
 * library (jemalloc, tcmalloc, mimalloc or glibc). The hooks call through these pointers. */
typedef struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
} sw_next_allocator;
/* Hidden: the hooks reach it PC-relative, `jmp *sw_next.malloc(%rip)`, no GOT load. */
extern sw_next_allocator sw_next __attribute__((visibility("hidden")));
/* Blocks served from the bootstrap buffer while dlsym looked the allocator up: never given to
 * the real allocator. Their addresses are marked in the live filter, so free's and realloc's
 * slow paths are the only ones that need to ask. */
bool sw_next_owns(const void *p);
/* realloc of a bootstrap block: a real block with its contents. */
void *sw_next_move_owned(void *p, size_t size);
void sw_next_postfork_child(void);
/* Whether the allocator underneath is glibc's (its chunk layout can be walked); for the exit
 * scan, which must not assume glibc's heap under jemalloc, tcmalloc or mimalloc. */
bool sw_allocator_is_glibc(void);

/* Whether the instrumented core may run in this thread: always in the real library. The
 * sanitizer build (scripts/sanitizers, -DSW_SANITIZER_GATE) asks the runtime, which cannot
 * follow a thread before it has set it up or after it has torn it down
 * (Tests/Sanitizers/follows_thread.c); such a thread's allocations are not sampled and its
 * frees of sampled blocks are not seen. */
#ifdef SW_SANITIZER_GATE
bool sw_sanitizer_follows_thread(void);
#else
static inline bool sw_sanitizer_follows_thread(void) { return true; }
#endif

/* config.c */
void sw_config_load(sw_config *c);
void sw_config_stop_following(void);

/* unwind.c */
void sw_unwind_init(void);
uint32_t sw_unwind(uintptr_t *pcs, uint32_t max_depth);

/* record.c: the sampled path */
void sw_record_allocation(void *p, size_t size);
void sw_countdown_expired(void *p, size_t size);
void sw_forget(void *p);
/* A forked child: no table has been full yet, no bytes counted towards SWHEAP_DUMP_BYTES. */
void sw_record_reset(void);

/* modules.c: loaded objects, as the body of a MODULES section */
void sw_modules_write(sw_buffer *b);
bool sw_self_range(uintptr_t probe, uintptr_t *lo, uintptr_t *hi);

/* scan_exit.c: at exit, which sampled objects nothing points to, and how that was found */
typedef enum { SW_SCAN_CONSERVATIVE, SW_SCAN_REACHABILITY } sw_scan_mode;
sw_scan_mode sw_scan_mark_unreferenced(sw_snapshot_entry *entries, size_t n, bool *unreferenced);
/* scan_reachability.c: LeakSanitizer's semantics over glibc's heap; false when it could not run */
bool sw_scan_exact(sw_snapshot_entry *entries, size_t n, bool *unreferenced);

/* dumpfile.c: the dump directory and its files */
/* Creates the directory and any missing parents (mode 0700); true when it is writable. */
bool sw_dumpfile_prepare(const char *dir);
/* One past the highest epoch already in dir for this pid, or 1. */
uint32_t sw_dumpfile_first_free_epoch(const char *dir);
/* Writes <dir>/<pid>.<epoch>.swheap atomically (temporary file, then rename). */
bool sw_dumpfile_write(const char *dir, const char *bytes, size_t len, uint32_t pid, uint32_t epoch);
/* The stack log's name <pid>.<first epoch, 6 digits>.log (no directory) into out (>= 40
 * bytes); its length. */
size_t sw_dumpfile_log_name(char *out, uint32_t pid, uint32_t first_epoch);
/* Creates (or empties) the image's stack log for reading and writing; -1 on failure. */
int sw_dumpfile_open_log(const char *dir, uint32_t pid, uint32_t first_epoch);
/* Deletes a log that holds no complete chunk (its first could not be written). */
void sw_dumpfile_remove_log(const char *dir, uint32_t pid, uint32_t first_epoch);
/* Deletes <dir>/<pid>.<epoch>.swheap (retention); a missing file is no error. */
void sw_dumpfile_remove(const char *dir, uint32_t pid, uint32_t epoch);

/* imagelog.c: this process image's stack log */
/* A fresh image or a forked child: its log will be <pid>.<first_epoch>.log, started anew
 * (the parent's open log and what it held stay the parent's). */
void sw_imagelog_reset(uint32_t first_epoch);
/* Appends dump `epoch`'s chunk; on success the log's length after it and its file name. */
bool sw_imagelog_append(uint32_t epoch, const char *modules, size_t modules_len, uint64_t *length, const char **name,
                        size_t *name_len);

/* retention.c: SWHEAP_KEEP */
/* A fresh image or a forked child: its epochs start at first_epoch, nothing thinned yet. */
void sw_retention_reset(uint32_t first_epoch);
/* The policy's `recent` for SWHEAP_KEEP=keep: max(2, keep / 16). */
uint64_t sw_retention_recent(uint64_t keep);
/* After epoch `newest` is in place: deletes this image's epoch files the policy drops. */
void sw_retention_apply(uint32_t newest);

/* dump.c: one epoch's dump, from the live tables to a file */
bool sw_dump_write(bool final);
/* A fresh image or a forked child: epochs continue after those on disk for this pid. */
void sw_dump_reset(void);

/* dumper.c: the background writer and its triggers */
void sw_dumper_init(void);
void sw_dumper_start(void);
void sw_dumper_poke(void);
void sw_dumper_stop(void);
/* Writes one dump now, serialised with the writer thread; warns when it fails. After the
 * final dump, no other is written (it would reuse the final dump's epoch). */
void sw_dumper_write(bool final);
/* A forked child: the writer thread did not survive fork; its lock and flags start fresh. */
void sw_dumper_postfork_child(void);

/* lifecycle.c: start-up, exit and fork, called from the preload library's constructor and
 * destructor (never in the unit tests' process) */
void sw_lifecycle_start(void);
void sw_lifecycle_finish(void);
/* The exit dump for _exit, _Exit and quick_exit; safe from a signal handler or vfork child. */
void sw_lifecycle_exit(void);

#endif
