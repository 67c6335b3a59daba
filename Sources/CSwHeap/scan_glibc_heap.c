/* glibc's chunks at exit, from their headers (malloc.c): each chunk is prev_size, size
 * with flags PREV_INUSE=1, IS_MMAPPED=2, NON_MAIN_ARENA=4, and a chunk is in use when the
 * next chunk's PREV_INUSE is set (chunks in tcache and fastbins look in use: harmless,
 * they only matter if something points at them). Three places hold chunks: the [heap]
 * mapping (main arena), HEAP_MAX_SIZE-aligned heaps of other arenas starting with a
 * heap_info, and single mmapped chunks. Read with sw_scan_read: a vanished page is an
 * error, never a fault. */
#define _GNU_SOURCE
#include "sw_os.h"
#include "sw_scan_heap.h"
#include "sw_scan_read.h"

#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

enum { PREV_INUSE = 1, IS_MMAPPED = 2, NON_MAIN_ARENA = 4, MIN_CHUNK = 32, HEADER = 16 };
#define HEAP_MAX ((uintptr_t)64 << 20) /* 2 * DEFAULT_MMAP_THRESHOLD_MAX on 64-bit */
#define MALLOC_STATE_SIZE 2200u        /* sizeof(struct malloc_state), glibc 2.26 and later */
#define WINDOW ((size_t)256 << 10)

typedef struct {
    char *buf;
    uintptr_t lo, hi; /* what buf holds */
    size_t want;      /* how much the next refill reads: little after a big chunk */
} window;

static bool read_exact(void *to, uintptr_t from, size_t len) {
    return sw_scan_read(to, from, len) == (ssize_t)len;
}

/* The word at a, with `limit` the end of the region (reads never cross it). */
static bool word_at(window *w, uintptr_t a, uintptr_t limit, uintptr_t *out) {
    if (a + sizeof(uintptr_t) > limit) return false;
    if (a < w->lo || a + sizeof(uintptr_t) > w->hi) {
        size_t want = w->want ? w->want : WINDOW;
        size_t len = limit - a < want ? limit - a : want;
        ssize_t got = sw_scan_read(w->buf, a, len);
        if (got < (ssize_t)sizeof(uintptr_t)) return false;
        w->lo = a, w->hi = a + (size_t)got;
    }
    *out = *(const uintptr_t *)(w->buf + (a - w->lo));
    return true;
}

/* An in-use chunk's payload runs into the next chunk's prev_size field (8 bytes more);
 * an mmapped chunk has no next chunk. */
static void build_pages(sw_chunk_index *ix);

static bool add(sw_chunk_index *ix, uintptr_t chunk, uintptr_t size, bool mmapped) {
    if (ix->n == ix->cap) return false;
    if (ix->n && chunk + HEADER < ix->end[ix->n - 1]) return false; /* must come in order */
    ix->start[ix->n] = chunk + HEADER;
    ix->end[ix->n] = chunk + size + (mmapped ? 0 : 8);
    ix->payload_bytes += ix->end[ix->n] - ix->start[ix->n];
    ix->n++;
    return true;
}

static bool set_top(sw_chunk_index *ix, bool main_heap, uintptr_t top) {
    if (main_heap) ix->main_top = top;
    return true;
}

/* Chunks from `p` up to `end`; the last chunk is the top (free) or a fencepost pair. */
static bool walk_chunks(sw_chunk_index *ix, window *w, uintptr_t p, uintptr_t end, bool main_heap) {
    uintptr_t size;
    while (p < end) {
        if (!word_at(w, p + 8, end, &size)) return false;
        uintptr_t sz = size & ~(uintptr_t)7;
        if (size & IS_MMAPPED || (main_heap && (size & NON_MAIN_ARENA))) return false;
        if (sz == HEADER) { /* fenceposts end an old heap: 16 then 0, or 16 then 16 (main arena) */
            uintptr_t next;
            return word_at(w, p + sz + 8, end, &next) && ((next & ~(uintptr_t)7) == 0 || (next & ~(uintptr_t)7) == HEADER);
        }
        if (sz < MIN_CHUNK || sz % 16 || sz > end - p) return false;
        w->want = sz > WINDOW / 16 ? 4096 : WINDOW; /* past a big chunk, the header alone */
        if (p + sz == end) return set_top(ix, main_heap, p); /* the top chunk */
        uintptr_t next;
        if (!word_at(w, p + sz + 8, end, &next)) {
            return main_heap && end - (p + sz) < 4096 && set_top(ix, main_heap, p); /* top ending before the page does */
        }
        if (main_heap && (next & ~(uintptr_t)7) == 0 && end - (p + sz) < 4096) return set_top(ix, main_heap, p);
        if ((next & PREV_INUSE) && !add(ix, p, sz, false)) return false;
        p += sz;
    }
    return p == end;
}

/* A non-main arena's heap: heap_info {ar_ptr, prev, size, mprotect_size[, pagesize]}. The
 * first heap of an arena holds the arena right after heap_info; later ones do not. Returns
 * 1 when the mapping is such a heap and was walked, 0 when it is not one, -1 on error. */
static int walk_arena_heap(sw_chunk_index *ix, window *w, const sw_range *m) {
    uintptr_t h[4];
    if (m->lo % HEAP_MAX || m->hi - m->lo > HEAP_MAX || !read_exact(h, m->lo, sizeof h)) return 0;
    uintptr_t ar_ptr = h[0], prev = h[1], size = h[2], mprotect_size = h[3];
    uintptr_t info = ar_ptr & (HEAP_MAX - 1); /* sizeof(heap_info): 32 before glibc 2.35, 48 since */
    if ((info != 32 && info != 48) || size < 4096 || size > m->hi - m->lo || mprotect_size < size) return 0;
    if (prev ? (prev % HEAP_MAX != 0 || ar_ptr == m->lo + info) : ar_ptr != m->lo + info) return 0;
    uintptr_t first = m->lo + info;
    if (!prev) first = ((ar_ptr + MALLOC_STATE_SIZE + HEADER + 15) & ~(uintptr_t)15) - HEADER;
    return walk_chunks(ix, w, first, m->lo + size, false) ? 1 : -1;
}

/* A segment of a non-contiguous main arena (glibc mmaps them when the break cannot grow,
 * as under valgrind): chunks from `q` until the top chunk meets the end of the range or
 * the next mapping's mmapped chunk, or until a pair of 16-byte fenceposts. Returns where it
 * ended, or 0 (and adds nothing) when `q` does not start one. */
static uintptr_t walk_segment(sw_chunk_index *ix, uintptr_t q, uintptr_t end) {
    size_t n0 = ix->n;
    uint64_t bytes0 = ix->payload_bytes;
    for (uintptr_t p = q;;) {
        uintptr_t head[2], next[2];
        if (!read_exact(head, p, sizeof head)) break;
        uintptr_t sz = head[1] & ~(uintptr_t)7;
        if (head[1] & (IS_MMAPPED | NON_MAIN_ARENA)) {
            if (p > q && p % 4096 == 0) return p; /* the previous chunk was the top */
            break;
        }
        if (sz == HEADER) {
            if (read_exact(next, p + HEADER, sizeof next) && (next[1] & ~(uintptr_t)7) == HEADER) return p + 2 * HEADER;
            break;
        }
        if (sz < MIN_CHUNK || sz % 16 || sz > end - p) break;
        if (p + sz == end) return end; /* the top chunk */
        if (!read_exact(next, p + sz, sizeof next)) {
            if ((p + sz) % 4096 == 0) return p + sz; /* the top, then the mapping ends */
            break;
        }
        if ((next[1] & PREV_INUSE) && !add(ix, p, sz, false)) break;
        p += sz;
    }
    ix->n = n0, ix->payload_bytes = bytes0;
    return 0;
}

/* Mmapped chunks (prev_size 0, size a page multiple with IS_MMAPPED) at the start of
 * their own mapping, and main-arena segments; the kernel may have merged neighbours into
 * one mapping, so after a chunk, or after something that is not one, the next resident
 * page is tried. */
static bool find_mmapped(sw_chunk_index *ix, const sw_range *range, unsigned char *resident, size_t resident_cap) {
    sw_range page_aligned = {(range->lo + 4095) & ~(uintptr_t)4095, range->hi & ~(uintptr_t)4095}, *m = &page_aligned;
    if (m->lo >= m->hi) return true;
    size_t pages = (m->hi - m->lo) / 4096;
    if (pages > resident_cap || mincore((void *)m->lo, m->hi - m->lo, resident) != 0) return true; /* cannot tell: none */
    for (size_t i = 0; i < pages;) {
        uintptr_t q = m->lo + i * 4096, head[2];
        if (!(resident[i] & 1) || !read_exact(head, q, sizeof head)) {
            i++;
            continue;
        }
        uintptr_t sz = head[1] & ~(uintptr_t)7;
        uintptr_t segment_end;
        if (head[0] == 0 && (head[1] & 7) == IS_MMAPPED && sz % 4096 == 0 && sz && sz <= m->hi - q) {
            if (!add(ix, q, sz, true)) return false;
            i += sz / 4096;
        } else if (head[0] == 0 && (head[1] & 7) == PREV_INUSE && (segment_end = walk_segment(ix, q, m->hi))) {
            i = (segment_end - m->lo + 4095) / 4096;
        } else {
            i++;
        }
    }
    return true;
}

/* [lo, hi) minus `skip`, searched for mmapped chunks piece by piece. */
static bool find_mmapped_except(sw_chunk_index *ix, uintptr_t lo, uintptr_t hi, const sw_range *skip, size_t nskip,
                                unsigned char *resident, size_t resident_cap) {
    for (size_t i = 0; i < nskip && lo < hi; i++) {
        if (skip[i].hi <= lo) continue;
        if (skip[i].lo >= hi) break;
        if (skip[i].lo > lo && !find_mmapped(ix, &(sw_range){lo, skip[i].lo}, resident, resident_cap)) return false;
        lo = skip[i].hi > lo ? skip[i].hi : lo;
    }
    return lo >= hi || find_mmapped(ix, &(sw_range){lo, hi}, resident, resident_cap);
}

/* An anonymous mapping: non-main arenas' heaps start at HEAP_MAX-aligned addresses (the
 * kernel may have merged one with a neighbour, such as a thread's stack), and the rest
 * may hold mmapped chunks. */
static bool walk_anonymous(sw_chunk_index *ix, window *w, const sw_mapping *m, const sw_range *skip, size_t nskip,
                           unsigned char *resident, size_t resident_cap) {
    uintptr_t lo = m->lo;
    for (uintptr_t a = (m->lo + HEAP_MAX - 1) & ~(HEAP_MAX - 1); a >= m->lo && a < m->hi; a += HEAP_MAX) {
        sw_range heap = {a, m->hi - a < HEAP_MAX ? m->hi : a + HEAP_MAX};
        w->lo = w->hi = 0;
        int arena = walk_arena_heap(ix, w, &heap);
        if (arena < 0) return false;
        if (arena == 0) continue;
        if (!find_mmapped_except(ix, lo, a, skip, nskip, resident, resident_cap)) return false;
        lo = heap.hi;
    }
    return find_mmapped_except(ix, lo, m->hi, skip, nskip, resident, resident_cap);
}

static void *map_array(size_t count, size_t each, size_t *bytes) {
    *bytes = (count * each + 4095) & ~(size_t)4095;
    return sw_os_map(*bytes, true);
}

bool sw_heap_walk(sw_chunk_index *ix, const sw_map_list *maps, const sw_range *skip, size_t nskip) {
    *ix = (sw_chunk_index){0};
    size_t cap = 16, biggest = 1;
    for (size_t i = 0; i < maps->n; i++) {
        const sw_mapping *m = &maps->maps[i];
        size_t len = m->hi - m->lo;
        if (m->kind == SW_MAP_HEAP || m->kind == SW_MAP_ANON) cap += len / MIN_CHUNK;
        if (m->kind == SW_MAP_ANON && len / 4096 > biggest) biggest = len / 4096;
    }
    size_t bytes, resident_bytes, bytes2, bytes3;
    ix->start = map_array(cap, sizeof(uintptr_t), &bytes);
    ix->end = map_array(cap, sizeof(uintptr_t), &bytes2);
    ix->reached = map_array(cap, 1, &bytes3);
    ix->bytes = bytes, ix->cap = cap;
    unsigned char *resident = map_array(biggest, 1, &resident_bytes);
    window w = {.buf = sw_os_map(WINDOW, false)};
    bool ok = ix->start && ix->end && ix->reached && resident && w.buf;
    bool seen_heap = false;
    /* The main heap is [heap]; where the break is emulated (valgrind), the anonymous mapping
     * that ends at the program break. */
    const sw_mapping *brk_heap = NULL;
    uintptr_t brk_end = (uintptr_t)sbrk(0);
    for (size_t i = 0; i < maps->n; i++)
        if (maps->maps[i].kind == SW_MAP_HEAP) brk_end = 0;
    if (brk_end && brk_end != (uintptr_t)-1) {
        const sw_mapping *m = sw_maps_find(maps, brk_end - 1);
        if (m && m->kind == SW_MAP_ANON && m->hi == ((brk_end + 4095) & ~(uintptr_t)4095)) brk_heap = m;
    }
    for (size_t i = 0; ok && i < maps->n; i++) {
        const sw_mapping *m = &maps->maps[i];
        if (!m->readable || !m->writable) continue;
        w.lo = w.hi = 0;
        if (m->kind == SW_MAP_HEAP || m == brk_heap) {
            if (seen_heap) ok = false; /* a second [heap]: not the layout we know */
            seen_heap = true;
            ok = ok && walk_chunks(ix, &w, m->lo, m->hi, true);
        } else if (m->kind == SW_MAP_ANON) {
            ok = walk_anonymous(ix, &w, m, skip, nskip, resident, biggest);
        }
    }
    if (resident) sw_os_unmap(resident, resident_bytes);
    if (w.buf) sw_os_unmap(w.buf, WINDOW);
    if (ok && ix->n) ix->min = ix->start[0], ix->max = ix->end[ix->n - 1];
    if (ok) build_pages(ix);
    if (!ok) sw_chunk_index_free(ix);
    return ok;
}

void sw_chunk_index_free(sw_chunk_index *ix) {
    if (ix->start) sw_os_unmap(ix->start, ix->bytes);
    if (ix->end) sw_os_unmap(ix->end, ix->bytes);
    if (ix->reached) sw_os_unmap(ix->reached, (ix->cap + 4095) & ~(size_t)4095);
    if (ix->page_keys) sw_os_unmap(ix->page_keys, ix->page_bytes);
    *ix = (sw_chunk_index){0};
}

static size_t page_slot(const sw_chunk_index *ix, uintptr_t page) {
    return (size_t)((page * 0x9E3779B97F4A7C15ull) >> 24) & ix->page_mask;
}

/* Index of the first chunk reaching into `page`, or -1 when no chunk does. */
static long first_in_page(const sw_chunk_index *ix, uintptr_t page) {
    for (size_t i = page_slot(ix, page);; i = (i + 1) & ix->page_mask) {
        if (ix->page_keys[i] == page + 1) return ix->page_first[i];
        if (ix->page_keys[i] == 0) return -1;
    }
}

/* The page map, or none (lookups then search all chunks) when memory runs out. */
static void build_pages(sw_chunk_index *ix) {
    size_t pages = 0;
    for (size_t c = 0; c < ix->n; c++) pages += ((ix->end[c] - 1) >> 12) - (ix->start[c] >> 12) + 1;
    if (pages > ((size_t)1 << 31) || ix->n > UINT32_MAX) return;
    size_t slots = 64;
    while (slots < 2 * pages) slots *= 2;
    ix->page_bytes = (slots * (sizeof(uintptr_t) + sizeof(uint32_t)) + 4095) & ~(size_t)4095;
    char *mem = sw_os_map(ix->page_bytes, true);
    if (!mem) return;
    ix->page_keys = (uintptr_t *)mem;
    ix->page_first = (uint32_t *)(mem + slots * sizeof(uintptr_t));
    ix->page_mask = slots - 1;
    for (size_t c = 0; c < ix->n; c++) {
        for (uintptr_t page = ix->start[c] >> 12; page <= (ix->end[c] - 1) >> 12; page++) {
            size_t i = page_slot(ix, page);
            while (ix->page_keys[i] && ix->page_keys[i] != page + 1) i = (i + 1) & ix->page_mask;
            if (ix->page_keys[i]) continue; /* an earlier chunk already reaches into it */
            ix->page_keys[i] = page + 1;
            ix->page_first[i] = (uint32_t)c;
        }
    }
}

long sw_chunk_at(const sw_chunk_index *ix, uintptr_t v) {
    if (v < ix->min || v >= ix->max) return -1;
    size_t lo = 0, hi = ix->n;
    if (ix->page_keys) {
        long first = first_in_page(ix, v >> 12);
        if (first < 0) return -1;
        lo = (size_t)first;
        long next = first_in_page(ix, (v >> 12) + 1);
        hi = next >= 0 ? (size_t)next + 1 : ix->n;
        if (hi > ix->n) hi = ix->n;
        /* [lo, hi) holds every chunk starting at or before v in this page, and the one before */
        if (ix->start[lo] > v) return -1;
    }
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ix->start[mid] <= v) lo = mid + 1;
        else hi = mid;
    }
    return lo && v < ix->end[lo - 1] ? (long)(lo - 1) : -1;
}
