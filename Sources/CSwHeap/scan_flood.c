/* The flood from roots through the heap's chunks, LeakSanitizer's mark phase: every
 * aligned word that points into a chunk's payload (interior pointers count) reaches that
 * chunk, and each reached chunk is read once, through sw_scan_read, and flooded in
 * turn, breadth first, so that who reached a chunk first lies on a shortest path to it. glibc's per-thread tcache header is the one chunk never flooded: it is malloc's
 * own state, and its lists lead to freed chunks holding stale pointers. */
#define _GNU_SOURCE
#include "sw_os.h"
#include "sw_scan_heap.h"
#include "sw_scan_read.h"

#include <sys/uio.h>
#include <unistd.h>

enum { WINDOWS = 4, WINDOW = 256 << 10, TCACHE_BINS = 64, TCACHE_PAYLOAD = TCACHE_BINS * 2 + TCACHE_BINS * 8 };

bool sw_flood_begin(sw_flood *f, sw_chunk_index *ix, size_t remaining) {
    *f = (sw_flood){.ix = ix, .remaining = remaining, .source = -1};
    f->work = sw_os_map((ix->n + 1) * sizeof(size_t), true);
    f->buffer = sw_os_map(SW_SCAN_CHUNK, false);
    f->windows = sw_os_map(SW_FLOOD_WINDOW_BYTES, false);
    return f->work && f->buffer && f->windows;
}

static void unmap_holders(sw_flood *f) {
    size_t n = f->ix->n + 1;
    if (f->holder_of) sw_os_unmap(f->holder_of, n * sizeof *f->holder_of);
    if (f->depth) sw_os_unmap(f->depth, n * sizeof *f->depth);
    if (f->pred) sw_os_unmap(f->pred, n * sizeof *f->pred);
    if (f->holders) sw_os_unmap(f->holders, SW_FLOOD_HOLDERS * sizeof *f->holders);
    f->holder_of = NULL, f->depth = NULL, f->pred = NULL, f->holders = NULL, f->holders_cap = 0;
}

bool sw_flood_track_holders(sw_flood *f) {
    size_t n = f->ix->n + 1;
    f->holder_of = sw_os_map(n * sizeof *f->holder_of, true);
    f->depth = sw_os_map(n * sizeof *f->depth, true);
    f->pred = sw_os_map(n * sizeof *f->pred, true);
    f->holders = sw_os_map(SW_FLOOD_HOLDERS * sizeof *f->holders, true);
    f->holders_cap = SW_FLOOD_HOLDERS;
    if (f->holder_of && f->depth && f->pred && f->holders) return true;
    unmap_holders(f);
    return false;
}

void sw_flood_root(sw_flood *f, uint32_t kind, uint32_t tid) { f->root_kind = kind, f->root_tid = tid; }

void sw_flood_end(sw_flood *f) {
    if (!f->ix) return; /* never begun */
    unmap_holders(f);
    if (f->work) sw_os_unmap(f->work, (f->ix->n + 1) * sizeof(size_t));
    if (f->buffer) sw_os_unmap(f->buffer, SW_SCAN_CHUNK);
    if (f->windows) sw_os_unmap(f->windows, SW_FLOOD_WINDOW_BYTES);
    f->work = NULL, f->buffer = NULL, f->windows = NULL;
}

/* Who reached chunk c first: the chunk being scanned (one more on its path, and its
 * predecessor), or the root word at `word`. */
static void note_holder(sw_flood *f, size_t c, uintptr_t word) {
    if (f->source >= 0) {
        f->pred[c] = (uint32_t)f->source + 1;
        f->holder_of[c] = f->holder_of[f->source];
        f->depth[c] = f->depth[f->source] < UINT16_MAX ? f->depth[f->source] + 1 : UINT16_MAX;
        return;
    }
    f->depth[c] = 0;
    if (f->nholders == f->holders_cap) return; /* more roots than room: none recorded */
    f->holders[f->nholders] = (sw_holder){.address = word, .kind = f->root_kind, .tid = f->root_tid};
    f->holder_of[c] = (uint32_t)++f->nholders;
}

static void reach(sw_flood *f, size_t c, uintptr_t word) {
    if (f->ix->reached[c] & 1) return;
    if (f->ix->reached[c] & 2 && f->remaining) f->remaining--; /* bit 2: holds a sampled object */
    f->ix->reached[c] |= 1;
    if (f->holder_of) note_holder(f, c, word);
    f->work[f->pending++] = c;
}

void sw_flood_reach(sw_flood *f, size_t c) { reach(f, c, 0); }

/* Per word: the hottest loop of a scan. */
static void mark_words(sw_flood *f, const uintptr_t *w, size_t n) {
    for (size_t i = 0; i < n; i++) {
        long c = sw_chunk_pointed_at(f->ix, w[i]);
        if (c >= 0) reach(f, (size_t)c, f->source_at + i * sizeof *w);
    }
}

/* glibc's tcache_perthread_struct: counts[64] (uint16), then entries[64], each empty or
 * the payload of a chunk of that bin's size (32 + 16 * bin; payload 8 less). */
static bool is_tcache(const sw_flood *f, const char *payload, size_t len) {
    if (len != TCACHE_PAYLOAD + 8) return false; /* payloads run 8 bytes into the next header */
    const uint16_t *counts = (const uint16_t *)payload;
    const uintptr_t *entries = (const uintptr_t *)(payload + TCACHE_BINS * 2);
    for (int i = 0; i < TCACHE_BINS; i++) {
        if ((entries[i] == 0) != (counts[i] == 0)) return false;
        if (!entries[i]) continue;
        long c = sw_chunk_at(f->ix, entries[i]);
        if (c < 0 || f->ix->start[c] != entries[i] || f->ix->end[c] - f->ix->start[c] + 8 != 32 + 16 * (uintptr_t)i)
            return false;
    }
    return true;
}

static void mark_chunk(sw_flood *f, const char *payload, size_t len);

static void read_and_mark(sw_flood *f, uintptr_t lo, uintptr_t hi, bool chunk) {
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    while (lo < hi && f->remaining) {
        size_t want = hi - lo < SW_SCAN_CHUNK ? hi - lo : SW_SCAN_CHUNK;
        ssize_t got = sw_scan_read(f->buffer, lo, want);
        if (got <= 0) {
            lo = (lo | 4095) + 1; /* unreadable page: skip it */
            continue;
        }
        f->bytes_read += (uint64_t)got;
        f->source_at = lo;
        if (chunk) mark_chunk(f, f->buffer, (size_t)got);
        else mark_words(f, (const uintptr_t *)f->buffer, (size_t)got / sizeof(uintptr_t));
        lo += (size_t)got;
    }
}

static void mark_chunk(sw_flood *f, const char *payload, size_t len) {
    if (!is_tcache(f, payload, len)) mark_words(f, (const uintptr_t *)payload, len / sizeof(uintptr_t));
}

/* Reached chunks are read through a few windows of the heap around them: chunks reached
 * one after another (a list, a tree) mostly lie side by side, so one system call serves
 * many of them. A window's bytes that belong to chunks never reached are copied but not
 * scanned; bytes_read counts what was copied. */
static const char *windowed(sw_flood *f, uintptr_t lo, uintptr_t hi) {
    for (int i = 0; i < WINDOWS; i++)
        if (lo >= f->window_lo[i] && hi <= f->window_hi[i]) return f->windows + (size_t)i * WINDOW + (lo - f->window_lo[i]);
    int i = f->next_window;
    f->next_window = (i + 1) % WINDOWS;
    uintptr_t from = (lo & ~(uintptr_t)4095) - WINDOW / 4; /* the neighbours below too */
    if (from > lo) from = 0;
    for (; from <= lo; from += WINDOW / 4) {
        ssize_t got = sw_scan_read(f->windows + (size_t)i * WINDOW, from, WINDOW);
        if (got > 0 && from + (size_t)got >= hi) {
            f->bytes_read += (uint64_t)got;
            f->window_lo[i] = from, f->window_hi[i] = from + (size_t)got;
            return f->windows + (size_t)i * WINDOW + (lo - from);
        }
    }
    f->window_lo[i] = f->window_hi[i] = 0;
    return NULL;
}

const char *sw_flood_payload(sw_flood *f, size_t c) {
    uintptr_t lo = f->ix->start[c], hi = f->ix->end[c];
    return hi - lo <= WINDOW / 2 ? windowed(f, lo, hi) : NULL;
}

void sw_flood_drain(sw_flood *f) {
    while (f->head < f->pending && f->remaining) {
        size_t c = f->work[f->head++];
        uintptr_t lo = f->ix->start[c], hi = f->ix->end[c];
        f->source = (long)c;
        const char *payload = hi - lo <= WINDOW / 2 ? windowed(f, lo, hi) : NULL;
        f->source_at = lo;
        if (payload) mark_chunk(f, payload, hi - lo);
        else read_and_mark(f, lo, hi, true); /* big, or where a window cannot be read */
    }
    f->source = -1;
}

void sw_flood_range(sw_flood *f, uintptr_t lo, uintptr_t hi) {
    /* In pieces: each is marked before the buffer is read into again. */
    f->source = -1;
    while (lo < hi && f->remaining) {
        uintptr_t piece = hi - lo < SW_SCAN_CHUNK ? hi : lo + SW_SCAN_CHUNK;
        read_and_mark(f, lo, piece, false);
        lo = piece;
    }
}

/* A register's holder address is 8 times its number in the saved context. */
void sw_flood_words(sw_flood *f, const uintptr_t *words, size_t n) {
    f->source = -1;
    f->source_at = 0;
    mark_words(f, words, n);
}
