/* The dump encoder (encode.c): one dump's bytes from a snapshot. */
#ifndef SW_ENCODE_H
#define SW_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_buffer.h"
#include "sw_scan.h"
#include "sw_stacks.h"

/* Everything a dump holds besides the stack table and the live snapshot. */
typedef struct {
    uint32_t flags;           /* SW_FLAG_* of swheap_format.h */
    uint32_t pid, parent_pid;
    uint64_t epoch;
    uint64_t wall_ns, monotonic_ns, start_ns;
    uint64_t rate;            /* also weighs the live entries */
    uint32_t max_depth;
    const char *exe;          /* EXE section: the path, without terminator */
    size_t exe_len;
    const char *cmdline;      /* CMDLINE section body */
    size_t cmdline_len;
    const char *modules;      /* MODULES section body, as sw_modules_write makes it */
    size_t modules_len;
} sw_dump_meta;

/* Appends one complete dump to `out`: header, EXE, CMDLINE, MODULES, STACKS (every stack of
 * the table but an unused reserved one), LIVE (the entries summed per (stack, birth epoch),
 * unreferenced[i] adding entry i to the unreferenced figures when given), END.
 * Pure: no clock, no files, no globals. false when out of memory (out->failed). */
bool sw_encode_dump(sw_buffer *out, const sw_dump_meta *meta, const sw_stack_table *stacks,
                    const sw_snapshot_entry *entries, size_t n, const bool *unreferenced);

#endif
