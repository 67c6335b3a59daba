/* The shim's process-wide state and its one owner (state.c). Everything that outlives a
 * call lives here: the settings, the live table, the stack table, the epoch, the counters
 * behind the dump triggers and the truncation warnings, and each thread's sampler.
 *
 * Invariants:
 * - `sw.config`, `sw.stacks` and `sw.start_ns` are written only by start-up and by a
 *   forked child before it runs on (lifecycle.c); every other file only reads them.
 * - Nothing is sampled unless sw_state_is_open(): start-up opens the state last, when the
 *   tables exist and the directory is usable; sw_state_close stops new samples while frees
 *   of sampled blocks are still taken out of the live table.
 * - Dumping and scanning read the live table through sw_state_snapshot_live and learn the
 *   shim's own memory (never a root, never a heap chunk) from sw_state_own_memory. */
#ifndef SW_STATE_H
#define SW_STATE_H

#include "sw_buffer.h"
#include "sw_config.h"
#include "sw_live.h"
#include "sw_sampler.h"
#include "sw_snapshot.h"
#include "sw_stacks.h"
#include "swheap_format.h"

#include <sys/types.h>

/* Per-thread state; initial-exec TLS so the fast path is one segment-relative load. */
typedef struct {
    sw_sampler sampler;
    int busy; /* inside the profiler: allocations pass straight through */
    uint32_t misses; /* the stack cache's misses (record.c) */
} sw_thread;

/* What is set once at start-up and then only read. */
typedef struct {
    sw_config config;
    sw_stack_table *stacks;
    uint64_t start_ns;        /* CLOCK_MONOTONIC when the shim started in this process image */
    /* Attach mode (`swheap attach`, Sources/CSwHeapPreload/attach.c): set by each attach
     * before the state opens; detached_wall_ns is set at detach, before the last dump. Every
     * dump of an attached process carries it (ATTACH section). */
    bool attached;
    sw_format_attach attach;
} sw_state;

extern sw_state sw;
/* Static, so the free fast path needs no pointer load and no "initialised yet?" test. */
extern sw_live_table sw_live_storage;
extern __thread sw_thread sw_tls __attribute__((tls_model("initial-exec")));

/* Start and stop: the tables are made once; the state opens when profiling may begin and
 * closes when it must end (the exit dump, a later detach). */
bool sw_state_create_tables(void);
void sw_state_open(void);
void sw_state_close(void);
bool sw_state_is_open(void);

/* The epoch that allocations made now are born in. */
uint32_t sw_state_epoch(void);
void sw_state_set_epoch(uint32_t epoch);

/* Adds a sample's estimated bytes to the count behind SWHEAP_DUMP_BYTES; true when the
 * count has reached it (a dump is due). A dump sets the count back to zero. */
bool sw_state_count_sampled_bytes(double bytes);
void sw_state_clear_sampled_bytes(void);

/* Each returns true the first time only, so each warning is said once per image. */
bool sw_state_note_live_table_full(void);
bool sw_state_note_stack_table_full(void);
/* Whether any figure is a lower bound: a table was full. */
bool sw_state_truncated(void);

/* Copies every live entry as a sw_snapshot_entry into `out`, one stripe locked at a time;
 * false when `out` ran out of memory. */
bool sw_state_snapshot_live(sw_buffer *out);
/* The shim's own tables (live table slots, stack table arrays) as ranges, at most `cap`;
 * returns how many. */
size_t sw_state_own_memory(sw_range *out, size_t cap);

/* The shim's own threads alive now (the writer, the allocator's asker, the attach control
 * thread), which the thread census leaves out and a live scan does not stop: each calls
 * sw_state_own_thread(1) first and (-1) last. */
void sw_state_own_thread(int delta);
uint32_t sw_state_own_threads(void);
bool sw_state_is_own_thread(pid_t tid);

/* fork: the tables' locks are not held across it; the child's tables start empty and its
 * counters and warnings afresh. */
void sw_state_prefork(void);
void sw_state_postfork_parent(void);
void sw_state_postfork_child(void);

#endif
