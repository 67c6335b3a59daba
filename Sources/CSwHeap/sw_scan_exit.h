/* The scan (scan_exit.c), at exit or live: which sampled objects nothing points to any more,
 * and how that was found. */
#ifndef SW_SCAN_EXIT_H
#define SW_SCAN_EXIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_scan_reachability.h"
#include "sw_snapshot.h"

typedef enum { SW_SCAN_CONSERVATIVE, SW_SCAN_REACHABILITY, SW_SCAN_SKIPPED } sw_scan_mode;
/* `fallback`: for SW_SCAN_CONSERVATIVE, why (SW_FALLBACK_* of swheap_format.h, with the
 * thread id for SW_FALLBACK_THREAD); for SW_SCAN_SKIPPED (the conservative scan would have
 * read more than `max_bytes`), SW_FALLBACK_BUDGET with the MiB; 0 otherwise. `live`: while the
 * program runs (sw_scan_reachability); when the reachability scan cannot run, SW_SCAN_SKIPPED
 * with its reason. `paths` (may be NULL): as for sw_scan_reachability, left empty by the
 * conservative scan. */
sw_scan_mode sw_scan_mark_unreferenced(sw_snapshot_entry *entries, size_t n, bool *unreferenced, uint64_t max_bytes,
                                       sw_scan_paths *paths, bool live, sw_scan_timing *timing, uint32_t *fallback);

#endif
