/* Every in-use chunk of glibc's malloc at exit, learnt by walking its chunk headers
 * (scan_glibc_heap.c), and the flood from roots through them (scan_flood.c). */
#ifndef SW_SCAN_HEAP_H
#define SW_SCAN_HEAP_H

#include "sw_scan_conservative.h"
#include "sw_scan_maps.h"

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

/* The flood: roots are scanned word by word, every chunk a word points into is reached and
 * scanned in turn, each once. Stops early when every chunk holding a sampled object is
 * reached (`remaining`), since then no verdict can change. */
typedef struct {
    sw_chunk_index *ix;
    size_t *work;
    size_t pending;
    size_t remaining;
    char *buffer; /* SW_SCAN_CHUNK bytes */
    uint64_t bytes_read;
    int pid;
    char *windows; /* 4 windows of 256 KiB, read around reached chunks */
    uintptr_t window_lo[4], window_hi[4];
    int next_window;
} sw_flood;
#define SW_FLOOD_WINDOW_BYTES ((size_t)4 * (256 << 10))

bool sw_flood_begin(sw_flood *f, sw_chunk_index *ix, size_t remaining);
void sw_flood_range(sw_flood *f, uintptr_t lo, uintptr_t hi);
void sw_flood_words(sw_flood *f, const uintptr_t *words, size_t n);
/* Marks a chunk reached (a sampled chunk counts down `remaining`) and queues it. */
void sw_flood_reach(sw_flood *f, size_t chunk);
void sw_flood_end(sw_flood *f);

#endif
