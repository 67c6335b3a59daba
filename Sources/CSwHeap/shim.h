/* Internal state shared by the files of libswheap.so (not part of the SwiftPM target). */
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

/* buffer.c: a growable output buffer in mmap'd memory */
typedef struct sw_buffer {
    char *data;
    size_t len, capacity;
    bool failed;
} sw_buffer;
void sw_buf_put(sw_buffer *b, const void *bytes, size_t n);
void sw_buf_u32(sw_buffer *b, uint32_t v);
void sw_buf_u64(sw_buffer *b, uint64_t v);
void sw_buf_f64(sw_buffer *b, double v);
void sw_buf_str(sw_buffer *b, const char *s, size_t n);
size_t sw_buf_begin_section(sw_buffer *b, uint32_t tag);
void sw_buf_end_section(sw_buffer *b, size_t start);
void sw_buf_free(sw_buffer *b);

/* modules.c: loaded objects, written straight into a dump buffer */
void sw_modules_write(sw_buffer *b);
bool sw_self_range(uintptr_t probe, uintptr_t *lo, uintptr_t *hi);

/* dump.c */
bool sw_dump_write(bool final);

/* scan.c: at exit, which sampled objects nothing points to */
typedef struct {
    uintptr_t ptr;
    uint64_t size;
    uint32_t stack_id;
    uint32_t birth_epoch;
} sw_snapshot_entry;
void sw_scan_mark_unreferenced(sw_snapshot_entry *entries, size_t n, bool *unreferenced);

/* dumper.c: the background writer and its triggers */
void sw_dumper_start(void);
void sw_dumper_maybe_start(void);
void sw_dumper_poke(void);
void sw_dumper_stop(void);

/* A message on stderr, at most once per kind, without stdio or malloc:
 * "swheap: <what>: <detail>; <consequence>". */
typedef enum { SW_WARN_SETTING, SW_WARN_DIRECTORY, SW_WARN_DUMP, SW_WARN_THREAD, SW_WARN_MEMORY, SW_WARN_STACKS } sw_warning;
void sw_warn(sw_warning kind, const char *what, const char *detail, const char *consequence);
uint64_t sw_now_ns(int clock);

#endif
