/* The dump encoders: one epoch file (encode.c) and one stack-log chunk (encode_log.c), each a
 * pure function of a snapshot, so the unit tests can check every byte. */
#ifndef SW_ENCODE_H
#define SW_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_buffer.h"
#include "sw_scan_heap.h"
#include "sw_snapshot.h"
#include "sw_stacks.h"
#include "swheap_format.h"

/* Everything an epoch file holds besides the live snapshot. */
typedef struct {
    uint32_t flags;           /* SW_FLAG_* of swheap_format.h (DEFLATED is set by the encoder) */
    uint32_t scan_fallback;   /* SW_FALLBACK_*: why the exit scan fell back, 0 when it did not */
    uint32_t pid, parent_pid;
    uint64_t epoch;
    uint64_t wall_ns, monotonic_ns, start_ns;
    uint64_t rate;            /* also weighs the live entries */
    uint32_t max_depth;
    const char *exe;          /* EXE section: the path, without terminator */
    size_t exe_len;
    const char *cmdline;      /* CMDLINE section body */
    size_t cmdline_len;
    uint64_t log_length;      /* LOG section: the stack log's length this dump uses */
    const char *log_name;     /* ... and its file name, without directory or terminator */
    size_t log_name_len;
    const char *threads;      /* THREADS section body (sw_census_write), or NULL: no section */
    size_t threads_len;
    const sw_format_memory *memory; /* MEMORY section's record; NULL: no MEMORY section */
    bool deflate;             /* deflate everything after the header (the shim always does) */
    const sw_format_attach *attach; /* ATTACH section, when the shim was attached (else NULL) */
    const void *scan;               /* SCAN section body (sw_encode_scan), or NULL: no section */
    size_t scan_len;
} sw_dump_meta;

/* Appends one complete v2 epoch file to `out`: header, then EXE, CMDLINE, LOG, ATTACH (only
 * with meta->attach), COHORTS (the
 * entries summed per (stack, birth cohort of sw_cohort_of), sorted by stack id then cohort,
 * unreferenced[i] adding entry i to the unreferenced figures when given), THREADS (when
 * meta->threads is given), MEMORY (when meta->memory is set), SCAN (when meta->scan is set), END; with
 * meta->deflate the sections are one zlib stream and the header says DEFLATED (plain when
 * deflate fails). Pure: no clock, no files, no globals. false when out of memory. */
bool sw_encode_dump(sw_buffer *out, const sw_dump_meta *meta, const sw_snapshot_entry *entries, size_t n,
                    const bool *unreferenced);

/* What a scan found besides the verdicts, as SCAN records: holders and components indexed by
 * stack id (`ids` of them; stack_id 0 where none, SW_STACK_COMPONENTS slots per id), the
 * holders' path steps in holder order. */
typedef struct {
    const sw_format_holder *holder;
    const sw_format_component *component;
    size_t ids;
    const sw_format_step *step;
    size_t nsteps;
} sw_scan_found;

/* SCAN section body (swheap_format.h): the record, then per stack the live figures of
 * `entries` (weighted by `rate`) as one COHORTS-shaped record with `unreferenced[i]` adding
 * entry i to the unreferenced figures, then what `found` holds: holders, their path steps and
 * components. No stacks and no holders without `unreferenced` (a failed scan), none of
 * `found`'s records without it. */
bool sw_encode_scan(sw_buffer *out, const sw_format_scan *scan, uint64_t rate, const sw_snapshot_entry *entries, size_t n,
                    const bool *unreferenced, const sw_scan_found *found);

/* What the stack log already holds, as of its last complete chunk (encode_log.c). */
typedef struct {
    uint64_t length;          /* committed bytes of the log file (0: not even its header) */
    uint32_t stacks;          /* stack ids 2..stacks are in the log */
    bool reserved_logged;     /* the reserved stack 1 too (logged once first used) */
    double *alloc;            /* per stack id 2 doubles: last logged objects, bytes (logged ids) */
    uint32_t alloc_capacity;  /* the highest id `alloc` has room for */
    bool modules_logged;
    uint64_t modules_hash;    /* FNV-1a of the last MODULES body logged */
} sw_log_state;

/* What one encoded chunk body would change in the state once it is written completely. */
typedef struct {
    uint32_t stacks;          /* the stack count the body covers */
    bool reserved_written;
    size_t alloc_at;          /* offset in the body of the first sw_format_alloc record */
    uint32_t alloc_count;
    bool modules_written;
    uint64_t modules_hash;
} sw_log_pending;

/* Appends one chunk's raw body (before deflating) to `out`: STACKS with the stacks added
 * since the state (ids state->stacks+1 .. count; the reserved stack 1 once first used), MODULES when its body differs from the last
 * one logged (always in the first chunk), ALLOC with every stack whose cumulative figures
 * differ from the last logged (0 for a stack not logged yet), END. Pure. */
bool sw_encode_log_body(sw_buffer *out, sw_log_pending *pending, const sw_log_state *state,
                        const sw_stack_table *stacks, uint32_t count, const char *modules, size_t modules_len);

/* After the chunk holding `body` was written completely: the state now covers it. */
void sw_log_commit(sw_log_state *state, const sw_log_pending *pending, const char *body, uint64_t new_length);

#endif
