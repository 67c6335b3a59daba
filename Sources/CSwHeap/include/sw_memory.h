/* The memory picture of a dump (memory.c): the resident set and its anonymous part, the
 * allocator's own figures and the sampled heap, as the MEMORY record of swheap_format.h. */
#ifndef SW_MEMORY_H
#define SW_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_scan_maps.h"
#include "swheap_format.h"

/* At start-up, never on the allocation path: which allocator is underneath the shim (the
 * one its next malloc belongs to) and, with dlsym, the statistics call of that allocator,
 * looked up in the same object (SW_ALLOCATOR_*). Calling it again looks them up again. */
void sw_memory_init(void);
/* With a writer thread: starts the thread that asks the allocator, so a dump waits for its
 * figures at most SW_MEMORY_WAIT_MS (sw_memory_take). Called from the thread that starts the
 * writer, never from the writer (whose first allocation would give it a glibc arena). */
void sw_memory_start_asker(void);
/* Detach: the asker ends (waited for at most a second: one slow call of the allocator's ends
 * it later). After the last dump that asks. */
void sw_memory_stop_asker(void);
/* A forked child: the asker did not survive fork. */
void sw_memory_postfork_child(void);
/* The allocator found by sw_memory_init (SW_ALLOCATOR_UNKNOWN before it). */
uint32_t sw_memory_allocator(void);

/* Fills `out` (version SW_MEMORY_VERSION, size SW_FORMAT_MEMORY_SIZE): statm and smaps_rollup
 * with raw read(2) into stack buffers, no stdio, no malloc; then, with `ask_allocator`, the
 * allocator's figures through the call sw_memory_init found. That call takes the allocator's
 * locks (mallinfo2 every arena's, one after another; mallctl's "epoch" every arena's stats
 * lock; tcmalloc its page heap lock), so it is made only by the writer at dump time and never
 * where the interrupted code may hold one of them (the exit dump of _exit, maybe a signal
 * handler): there the record says SW_MEMORY_SKIPPED. With the asker started, the call is
 * made there and waited for at most SW_MEMORY_WAIT_MS; later, the record says SW_MEMORY_LATE
 * (and has no allocator figures); without it, the caller makes it. */
void sw_memory_take(sw_format_memory *out, bool ask_allocator, double sampled_live_bytes);

/* The parsers, pure (the unit tests hand in their own text). */
/* statm: "size resident shared text lib data dt" in pages. */
bool sw_memory_parse_statm(const char *text, size_t len, uint64_t page_size, uint64_t *rss, uint64_t *shared);
/* The "<field>:   N kB" line of smaps_rollup or status, in bytes. */
bool sw_memory_parse_kb(const char *text, size_t len, const char *field, uint64_t *bytes);
/* glibc's arenas: the main arena plus one for each first heap of another arena among the
 * mappings (a heap_info at a HEAP_MAX_SIZE-aligned address with no previous heap, whose arena
 * follows it: glibc never frees an arena nor its first heap). Reads with process_vm_readv. */
uint32_t sw_memory_count_glibc_arenas(const sw_map_list *maps);

#endif
