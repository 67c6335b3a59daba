/* The scan: which sampled objects does nothing point to any more? First with
 * LeakSanitizer's semantics (scan_reachability.c: the heap traversed, not trusted); when that
 * cannot run (a thread did not stop, a heap the walker does not understand, another
 * allocator), at exit the conservative fallback (scan_conservative.c), blind to leaked
 * structures but never a false leak. A live scan has no fallback: it is skipped. */
#define _GNU_SOURCE
#include "sw_next_allocator.h"
#include "sw_scan_conservative.h"
#include "sw_scan_exit.h"
#include "sw_scan_reachability.h"
#include "swheap_format.h"

sw_scan_mode sw_scan_mark_unreferenced(sw_snapshot_entry *objects, size_t n, bool *unreferenced, uint64_t max_bytes,
                                       sw_scan_paths *paths, bool live, sw_scan_timing *timing, uint32_t *fallback) {
    *fallback = SW_FALLBACK_NONE;
    *timing = (sw_scan_timing){0};
    if (!sw_allocator_is_glibc()) *fallback = SW_FALLBACK_ALLOCATOR;
    else if (sw_scan_reachability(objects, n, unreferenced, paths, live, timing, fallback)) return SW_SCAN_REACHABILITY;
    if (live) return SW_SCAN_SKIPPED; /* the fallback reads memory that running threads change */
    uint64_t would_read;
    if (sw_scan_conservatively(objects, n, unreferenced, max_bytes, &would_read)) return SW_SCAN_CONSERVATIVE;
    uint64_t mib = (would_read + (1u << 20) - 1) >> 20;
    *fallback = SW_FALLBACK_BUDGET | (uint32_t)((mib < 0xFFFFFFu ? mib : 0xFFFFFFu) << 8);
    return SW_SCAN_SKIPPED;
}
