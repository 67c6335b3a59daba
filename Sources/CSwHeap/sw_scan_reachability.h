/* The scan with LeakSanitizer's semantics over glibc's heap (scan_reachability.c), at exit
 * or while the program runs. */
#ifndef SW_SCAN_REACHABILITY_H
#define SW_SCAN_REACHABILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_scan_heap.h"
#include "sw_scan_paths.h"
#include "sw_snapshot.h"

typedef struct {
    uint64_t pause_ns;    /* the other threads stopped: from the first signal to their release */
    uint64_t duration_ns; /* the whole scan, the pause included */
    uint64_t cpu_ns;      /* CPU time it took: the copy's (live) or this thread's (at exit) */
} sw_scan_timing;

/* false when it could not run (a thread did not stop, a heap it does not understand):
 * then no verdict was written, and *fallback says why (SW_FALLBACK_* of swheap_format.h).
 * `live`: called on the writer thread while the program runs. The others are stopped only
 * while their registers are taken and the process is copied (a fork with no handlers run and
 * no SIGCHLD); the copy scans while they run on, and the caller waits for its verdicts.
 * Without `live`, at exit: the others stay stopped for the whole scan, and the calling
 * thread's stack counts from the caller of exit(). With `paths` (sw_scan_paths_init), every
 * referenced stack gets the shortest path from a root to its nearest block, and every
 * unreferenced one the components its blocks belong to. */
bool sw_scan_reachability(sw_snapshot_entry *entries, size_t n, bool *unreferenced, sw_scan_paths *paths, bool live,
                          sw_scan_timing *timing, uint32_t *fallback);

#endif
