/* The exit scan (scan_exit.c): which sampled objects nothing points to any more, and how
 * that was found. */
#ifndef SW_SCAN_EXIT_H
#define SW_SCAN_EXIT_H

#include <stdbool.h>
#include <stddef.h>

#include "sw_snapshot.h"

typedef enum { SW_SCAN_CONSERVATIVE, SW_SCAN_REACHABILITY } sw_scan_mode;
sw_scan_mode sw_scan_mark_unreferenced(sw_snapshot_entry *entries, size_t n, bool *unreferenced);

#endif
