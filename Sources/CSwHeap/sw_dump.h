/* One epoch's dump, from the live tables to a file (dump.c). */
#ifndef SW_DUMP_H
#define SW_DUMP_H

#include <stdbool.h>
#include <stdint.h>

#include "swheap_format.h"

/* `ask_allocator`: the MEMORY record may ask the allocator for its figures (sw_memory_take:
 * not where the interrupted code may hold the allocator's locks). `live_scan`: 0, or
 * SW_SCAN_LIVE (and SW_SCAN_ASKED) for a dump that carries a live scan. A final dump scans at
 * exit. `scan`, when not NULL, gets the scan's record (flags 0: none ran). */
bool sw_dump_write(bool final, bool ask_allocator, uint32_t live_scan, sw_format_scan *scan);
/* A fresh image or a forked child: epochs continue after those on disk for this pid. */
void sw_dump_reset(void);
/* Dumps now go to another directory (a change of user, userdir.c): the next epoch starts a
 * new stack log there, and retention counts this image's files from it. */
void sw_dump_moved(void);

#endif
