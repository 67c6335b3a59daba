/* The conservative exit scan (scan_conservative.c): its mark phase over the sampled objects,
 * and the fallback that takes every writable mapping as roots. */
#ifndef SW_SCAN_CONSERVATIVE_H
#define SW_SCAN_CONSERVATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_snapshot.h"

/* The 4 KiB pages sampled objects occupy, as an open-addressing set: nearly every word of
 * memory that looks like a heap pointer points elsewhere, and one probe here rejects it
 * before the binary search over the objects. */
typedef struct {
    uintptr_t *slots; /* page number + 1; 0 = empty */
    size_t mask;
    size_t bytes;
} sw_page_set;

/* Room for `pages` distinct pages at most half full; false without memory. */
bool sw_page_set_init(sw_page_set *set, size_t pages);
void sw_page_set_add(sw_page_set *set, uintptr_t page);
bool sw_page_set_contains(const sw_page_set *set, uintptr_t page);
void sw_page_set_free(sw_page_set *set);

#define SW_SCAN_CHUNK ((size_t)1 << 20)
/* Address range one scan reads at most (16 GiB). Some programs reserve huge sparse writable
 * mappings (sanitizer shadow memory, language runtimes' heap reservations): reading terabytes
 * of zero pages would hold the program at exit for hours. Past the budget the scan gives up
 * and claims nothing (every verdict "referenced"). */
#define SW_SCAN_BUDGET ((uint64_t)16 << 30)

/* One mark phase over the sampled objects: roots are handed in as address ranges, and the
 * objects they reach are followed at once (so cycles of dropped objects stay unreferenced
 * and the scan can stop as soon as everything is reached). */
typedef struct {
    sw_snapshot_entry *objects; /* sorted by address by sw_scan_begin */
    size_t n;
    sw_page_set pages;
    bool *unreferenced;         /* per object, the verdict */
    size_t *worklist;
    size_t pending;
    size_t remaining;           /* objects not yet found referenced: at 0 the scan can stop */
    bool draining;
    uintptr_t min, max;
    char *chunk;                /* SW_SCAN_CHUNK bytes where memory is copied to be read */
    uint64_t budget;            /* bytes still to read before giving up (SW_SCAN_BUDGET) */
    bool gave_up;
} sw_scan;

/* Sorts `objects` by address, marks all unreferenced and maps the scan's buffers. false
 * when memory ran out: then every verdict is "referenced" (claim nothing) and the caller
 * skips the scan but still calls sw_scan_end. */
bool sw_scan_begin(sw_scan *s, sw_snapshot_entry *objects, size_t n, bool *unreferenced);
/* Index of the object containing address v (interior addresses count), or -1. */
long sw_scan_object_at(const sw_scan *s, uintptr_t v);
/* Treats [lo, hi) as roots: every aligned word that points into an object marks it
 * referenced, and what it points to in turn. Unreadable pages are skipped, never faulted. */
void sw_scan_root(sw_scan *s, uintptr_t lo, uintptr_t hi);
/* Roots [lo, hi) minus `skip` (sorted by lo, not overlapping). */
void sw_scan_root_except(sw_scan *s, uintptr_t lo, uintptr_t hi, const sw_range *skip, size_t nskip);
/* Unmaps the scan's buffers; the verdicts stay in `unreferenced`. */
void sw_scan_end(sw_scan *s);

/* The whole fallback: roots from every writable mapping but the objects and the shim's own
 * tables, verdicts into `unreferenced` (all "referenced" when memory ran out). Reads the
 * mappings only when they add up to at most `max_bytes` (SWHEAP_SCAN_MAX_BYTES): false when
 * it did not (every verdict "referenced"). `would_read`: what they add up to. */
bool sw_scan_conservatively(sw_snapshot_entry *objects, size_t n, bool *unreferenced, uint64_t max_bytes,
                            uint64_t *would_read);

#endif
