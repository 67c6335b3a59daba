/* The exit scan: which sampled objects does nothing point to any more? First with
 * LeakSanitizer's semantics (scan_reachability.c: the heap traversed, not trusted); when that
 * cannot run (a thread did not stop, a heap the walker does not understand, another
 * allocator), the conservative fallback (scan_conservative.c), blind to leaked structures
 * but never a false leak. */
#define _GNU_SOURCE
#include "sw_next_allocator.h"
#include "sw_scan_conservative.h"
#include "sw_scan_exit.h"
#include "sw_scan_reachability.h"
#include "swheap_format.h"

sw_scan_mode sw_scan_mark_unreferenced(sw_snapshot_entry *objects, size_t n, bool *unreferenced, uint64_t max_bytes,
                                       uint32_t *fallback) {
    *fallback = SW_FALLBACK_NONE;
    if (!sw_allocator_is_glibc()) *fallback = SW_FALLBACK_ALLOCATOR;
    else if (sw_scan_reachability(objects, n, unreferenced, fallback)) return SW_SCAN_REACHABILITY;
    uint64_t would_read;
    if (sw_scan_conservatively(objects, n, unreferenced, max_bytes, &would_read)) return SW_SCAN_CONSERVATIVE;
    uint64_t mib = (would_read + (1u << 20) - 1) >> 20;
    *fallback = SW_FALLBACK_BUDGET | (uint32_t)((mib < 0xFFFFFFu ? mib : 0xFFFFFFu) << 8);
    return SW_SCAN_SKIPPED;
}
