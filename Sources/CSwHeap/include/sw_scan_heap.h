/* Every in-use chunk of glibc's malloc at exit, learnt by walking its chunk headers
 * (scan_glibc_heap.c), and the flood from roots through them (scan_flood.c). */
#ifndef SW_SCAN_HEAP_H
#define SW_SCAN_HEAP_H

#include "sw_scan_conservative.h"
#include "sw_scan_maps.h"
#include "swheap_format.h"

/* In-use chunks sorted by address, each payload [start, end). The payload of a chunk in a
 * heap ends 8 bytes into the next chunk's header: glibc's own pointers to that header (the
 * main arena's top and bins) land inside it, so the main arena is never a root. */
typedef struct {
    uintptr_t *start;
    uintptr_t *end;
    uint8_t *reached;
    size_t n, cap;
    size_t bytes; /* of each array's mapping */
    uintptr_t min, max;
    uint64_t payload_bytes;
    /* Page number -> the first chunk whose payload reaches into that page, open addressing
     * (keys page + 1, 0 = empty): a lookup is one probe and a short search in the page. */
    uintptr_t *page_keys;
    uint32_t *page_first;
    size_t page_mask, page_bytes;
    uintptr_t main_top; /* the main arena's top chunk, 0 without [heap] */
} sw_chunk_index;

/* Walks the main heap ([heap]), non-main arenas' heaps and mmapped chunks found in `maps`,
 * skipping mappings that overlap `skip` (sorted; the shim's own memory, thread stacks).
 * false when a heap holds something the walker does not understand: then nothing it
 * found can be trusted. */
bool sw_heap_walk(sw_chunk_index *ix, const sw_map_list *maps, const sw_range *skip, size_t nskip);
void sw_chunk_index_free(sw_chunk_index *ix);
/* The chunk whose payload holds v, or -1. */
long sw_chunk_at(const sw_chunk_index *ix, uintptr_t v);
/* The chunk a word v found in memory points into, as the flood counts it, or -1. Inline: it
 * runs for every word a scan reads. */
static inline long sw_chunk_pointed_at(const sw_chunk_index *ix, uintptr_t v) {
    if (v < ix->min || v >= ix->max) return -1;
    long c = sw_chunk_at(ix, v);
    /* The next chunk's header (its prev_size field, the last 8 bytes of an unsampled
     * heap chunk's usable size, which ends 8 past a 16-byte boundary; an mmapped chunk
     * ends on a page): glibc's own pointers name chunks by their headers (bins' fd/bk,
     * large bins' fd_nextsize/bk_nextsize), and stale copies of them stay in payloads
     * never written since the chunk was free. Such a word names the next chunk, not
     * this one. A sampled chunk ends at its requested end: no such word. */
    if (c >= 0 && v == ix->end[c] - 8 && (v & 15) == 0 && !(ix->reached[c] & 2)) return -1;
    return c;
}

/* Where a chunk's shortest path from the roots begins (SW_HOLDER_* of swheap_format.h). */
typedef struct {
    uintptr_t address; /* of the root word; for a register, its number */
    uint32_t kind;
    uint32_t tid;      /* the thread whose stack, TLS or register it is; 0 for a global */
} sw_holder;

/* The flood: roots are scanned word by word, every chunk a word points into is reached, and
 * once every root is marked the reached chunks are scanned in turn, each once, breadth first:
 * the first root and chunk to reach a chunk lie on a shortest path to it. Stops early when
 * every chunk holding a sampled object is reached (`remaining`), since then no verdict can
 * change. With `holder_of` (sw_flood_track_holders), each reached chunk keeps the root its
 * path starts at, how many chunks lie before it on the path and the one right before it
 * (10 bytes per chunk). */
typedef struct {
    sw_chunk_index *ix;
    size_t *work;
    size_t head, pending; /* the queue: work[head..pending) */
    uint32_t *holder_of;  /* per chunk: index + 1 into holders; 0: none recorded */
    uint16_t *depth;      /* per chunk: chunks before it on its path */
    uint32_t *pred;       /* per chunk: index + 1 of the chunk before it on its path; 0: a root */
    sw_holder *holders;
    size_t nholders, holders_cap;
    long source;          /* the chunk being scanned, or -1 for a root */
    uintptr_t source_at;  /* the address of the first word being marked */
    uint32_t root_kind, root_tid;
    size_t remaining;
    char *buffer; /* SW_SCAN_CHUNK bytes */
    uint64_t bytes_read;
    char *windows; /* 4 windows of 256 KiB, read around reached chunks */
    uintptr_t window_lo[4], window_hi[4];
    int next_window;
} sw_flood;
#define SW_FLOOD_WINDOW_BYTES ((size_t)4 * (256 << 10))
#define SW_FLOOD_HOLDERS ((size_t)1 << 18) /* roots recorded at most (4 MiB, touched as used) */

bool sw_flood_begin(sw_flood *f, sw_chunk_index *ix, size_t remaining);
/* Keeps holders from here on; false when its memory cannot be mapped (the flood goes on
 * without). */
bool sw_flood_track_holders(sw_flood *f);
/* What the roots marked next are (SW_HOLDER_*, the thread they belong to). */
void sw_flood_root(sw_flood *f, uint32_t kind, uint32_t tid);
/* Marks the chunks a root range, or a thread's registers, point into. */
void sw_flood_range(sw_flood *f, uintptr_t lo, uintptr_t hi);
void sw_flood_words(sw_flood *f, const uintptr_t *words, size_t n);
/* Once every root is marked: scans the reached chunks, breadth first. */
void sw_flood_drain(sw_flood *f);
/* Chunk c's payload, read through the flood's windows (its neighbours come with it), or NULL
 * for a chunk too big for them or unreadable: then read it with sw_scan_read. */
const char *sw_flood_payload(sw_flood *f, size_t c);
/* Marks a chunk reached (a sampled chunk counts down `remaining`) and queues it. */
void sw_flood_reach(sw_flood *f, size_t chunk);
void sw_flood_end(sw_flood *f);

#endif
