/* The exit scan with LeakSanitizer's semantics over glibc's heap (scan_reachability.c). */
#ifndef SW_SCAN_REACHABILITY_H
#define SW_SCAN_REACHABILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_snapshot.h"

/* false when it could not run (a thread did not stop, a heap it does not understand):
 * then no verdict was written, and *fallback says why (SW_FALLBACK_* of swheap_format.h). */
bool sw_scan_reachability(sw_snapshot_entry *entries, size_t n, bool *unreferenced, uint32_t *fallback);

#endif
