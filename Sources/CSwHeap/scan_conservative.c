/* The conservative exit scan, the fallback when the reachability scan cannot run: roots are
 * every readable, writable mapping of this process (stacks, data and bss, heap, anonymous
 * memory) minus the sampled objects themselves and the profiler's own tables. Unsampled
 * heap memory counts as roots, so leaked structures and stale words look "referenced":
 * blind, but never a false leak.
 * The mark phase runs over the sampled objects only, in the spirit of LeakSanitizer: roots
 * are handed in as address ranges (sw_scan_conservatively picks them from this process's
 * mappings; the unit tests pass their own), every aligned word that points into
 * a sampled object marks it referenced, and referenced objects are scanned in turn, so
 * objects that only point to each other stay unreferenced. Memory is read with
 * sw_scan_read, which fails instead of faulting on ranges that vanish or cannot be read. */
#define _GNU_SOURCE
#include "sw_os.h"
#include "sw_scan_conservative.h"
#include "sw_scan_read.h"
#include "sw_state.h"

#include <fcntl.h>
#include <string.h>

#include <sys/uio.h>
#include <unistd.h>

enum { PAGE_SHIFT = 12 };

static size_t page_slot(const sw_page_set *set, uintptr_t page) {
    return (size_t)((page * 0x9E3779B97F4A7C15ull) >> 20) & set->mask;
}

bool sw_page_set_init(sw_page_set *set, size_t pages) {
    size_t slots = 64;
    while (slots < 2 * pages) slots *= 2;
    *set = (sw_page_set){sw_os_map(slots * sizeof(uintptr_t), false), slots - 1, slots * sizeof(uintptr_t)};
    return set->slots != NULL;
}

void sw_page_set_add(sw_page_set *set, uintptr_t page) {
    for (size_t i = page_slot(set, page);; i = (i + 1) & set->mask) {
        if (set->slots[i] == page + 1) return;
        if (set->slots[i] == 0) {
            set->slots[i] = page + 1;
            return;
        }
    }
}

bool sw_page_set_contains(const sw_page_set *set, uintptr_t page) {
    for (size_t i = page_slot(set, page);; i = (i + 1) & set->mask) {
        if (set->slots[i] == page + 1) return true;
        if (set->slots[i] == 0) return false;
    }
}

void sw_page_set_free(sw_page_set *set) {
    sw_os_unmap(set->slots, set->bytes);
    *set = (sw_page_set){0};
}

static void sift_down(sw_snapshot_entry *a, size_t root, size_t n) {
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && a[child + 1].ptr > a[child].ptr) child++;
        if (a[root].ptr >= a[child].ptr) return;
        sw_snapshot_entry t = a[root];
        a[root] = a[child], a[child] = t;
    }
}

/* Heapsort: in place, no allocation, O(n log n) even on adversarial input. */
static void sort_by_address(sw_snapshot_entry *a, size_t n) {
    for (size_t i = n / 2; i-- > 0;) sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        sw_snapshot_entry t = a[0];
        a[0] = a[end], a[end] = t;
        sift_down(a, 0, end);
    }
}

long sw_scan_object_at(const sw_scan *s, uintptr_t v) {
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->objects[mid].ptr <= v) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return -1;
    return v < sw_snapshot_end(&s->objects[lo - 1]) ? (long)(lo - 1) : -1;
}

static void mark(sw_scan *s, uintptr_t v) {
    if (v < s->min || v >= s->max || !sw_page_set_contains(&s->pages, v >> PAGE_SHIFT)) return;
    long i = sw_scan_object_at(s, v);
    if (i < 0 || !s->unreferenced[i]) return;
    s->unreferenced[i] = false;
    s->remaining--;
    s->worklist[s->pending++] = (size_t)i;
}

static void scan_words(sw_scan *s, const char *bytes, size_t len) {
    const uintptr_t *w = (const uintptr_t *)bytes;
    for (size_t i = 0; i < len / sizeof(uintptr_t); i++) mark(s, w[i]);
}

static void scan_range(sw_scan *s, uintptr_t lo, uintptr_t hi);

/* Follows what the objects found so far point to, at once rather than after all roots:
 * the sooner every object is known to be referenced, the sooner the scan stops. */
static void drain(sw_scan *s) {
    if (s->draining) return;
    s->draining = true;
    while (s->pending && s->remaining) {
        const sw_snapshot_entry *e = &s->objects[s->worklist[--s->pending]];
        scan_range(s, e->ptr, e->ptr + e->size);
    }
    s->draining = false;
}

/* Over budget: claim nothing, and stop every loop (remaining 0). */
static void give_up(sw_scan *s) {
    for (size_t i = 0; i < s->n; i++) s->unreferenced[i] = false;
    s->remaining = 0, s->pending = 0, s->gave_up = true;
}

/* Reads [lo, hi) of our own memory without faulting, page by page where a chunk fails. */
static void scan_range(sw_scan *s, uintptr_t lo, uintptr_t hi) {
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    while (lo < hi && s->remaining) { /* once every object is referenced, nothing can change */
        size_t want = hi - lo < SW_SCAN_CHUNK ? hi - lo : SW_SCAN_CHUNK;
        if (want > s->budget) {
            give_up(s);
            return;
        }
        ssize_t got = sw_scan_read(s->chunk, lo, want);
        if (got > 0) {
            s->budget -= (size_t)got;
            scan_words(s, s->chunk, (size_t)got);
            lo += (size_t)got;
            drain(s); /* the chunk is consumed: draining may reuse it */
        } else {
            s->budget -= ((lo | 4095) + 1) - lo;
            lo = (lo | 4095) + 1; /* unreadable page: skip it */
        }
    }
}

void sw_scan_root(sw_scan *s, uintptr_t lo, uintptr_t hi) { scan_range(s, lo, hi); }

void sw_scan_root_except(sw_scan *s, uintptr_t lo, uintptr_t hi, const sw_range *skip, size_t nskip) {
    for (size_t i = 0; i < nskip && lo < hi; i++) {
        if (skip[i].hi <= lo) continue;
        if (skip[i].lo >= hi) break;
        if (skip[i].lo > lo) scan_range(s, lo, skip[i].lo);
        lo = skip[i].hi > lo ? skip[i].hi : lo;
    }
    if (lo < hi) scan_range(s, lo, hi);
}

bool sw_scan_begin(sw_scan *s, sw_snapshot_entry *objects, size_t n, bool *unreferenced) {
    *s = (sw_scan){.objects = objects, .n = n, .unreferenced = unreferenced, .remaining = n, .budget = SW_SCAN_BUDGET};
    sort_by_address(objects, n);
    for (size_t i = 0; i < n; i++) unreferenced[i] = true;
    s->min = n ? objects[0].ptr : 0;
    s->max = n ? sw_snapshot_end(&objects[n - 1]) : 0;
    size_t pages = 0;
    for (size_t i = 0; i < n; i++) pages += ((sw_snapshot_end(&objects[i]) - 1) >> PAGE_SHIFT) - (objects[i].ptr >> PAGE_SHIFT) + 1;
    if (sw_page_set_init(&s->pages, pages))
        for (size_t i = 0; i < n; i++)
            for (uintptr_t page = objects[i].ptr >> PAGE_SHIFT; page <= (sw_snapshot_end(&objects[i]) - 1) >> PAGE_SHIFT; page++)
                sw_page_set_add(&s->pages, page);
    s->worklist = sw_os_map(n * sizeof(size_t), false);
    s->chunk = sw_os_map(SW_SCAN_CHUNK, false);
    if (s->worklist && s->chunk && s->pages.slots) return true;
    for (size_t i = 0; i < n; i++) unreferenced[i] = false; /* cannot tell: claim nothing */
    s->remaining = 0;
    return false;
}

void sw_scan_end(sw_scan *s) {
    drain(s); /* objects reached so far keep what they point to alive */
    sw_os_unmap(s->worklist, s->n * sizeof(size_t));
    sw_os_unmap(s->chunk, SW_SCAN_CHUNK);
    sw_page_set_free(&s->pages);
    s->worklist = NULL, s->chunk = NULL;
}

static uintptr_t parse_hex(const char **p) {
    uintptr_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return v;
        v = v * 16 + (uintptr_t)d;
    }
}

/* Ranges never to treat as roots: the sampled objects (reached only through marking) and
 * the profiler's own memory that holds sampled pointers: live table slots, the snapshot,
 * this scan's buffers and this very list. */
static size_t collect_exclusions(sw_scan *s, sw_range *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < s->n && n < cap; i++) out[n++] = (sw_range){s->objects[i].ptr, sw_snapshot_end(&s->objects[i])};
    n += sw_state_own_memory(out + n, cap - n);
    if (n < cap) out[n++] = (sw_range){(uintptr_t)s->objects, (uintptr_t)(s->objects + s->n)};
    if (n < cap) out[n++] = (sw_range){(uintptr_t)s->unreferenced, (uintptr_t)(s->unreferenced + s->n)};
    if (n < cap) out[n++] = (sw_range){(uintptr_t)s->worklist, (uintptr_t)(s->worklist + s->n)};
    if (n < cap) out[n++] = (sw_range){(uintptr_t)s->chunk, (uintptr_t)s->chunk + SW_SCAN_CHUNK};
    if (n < cap) out[n++] = (sw_range){(uintptr_t)out, (uintptr_t)(out + cap)}; /* holds every object's address */
    if (n < cap) out[n++] = (sw_range){(uintptr_t)s->pages.slots, (uintptr_t)s->pages.slots + s->pages.bytes};
    /* insertion sort is enough: the object ranges are already in order */
    for (size_t i = 1; i < n; i++) {
        sw_range r = out[i];
        size_t j = i;
        while (j > 0 && out[j - 1].lo > r.lo) out[j] = out[j - 1], j--;
        out[j] = r;
    }
    return n;
}

/* Bytes of [lo, hi) outside `skip` (sorted by lo, not overlapping). */
static uint64_t bytes_except(uintptr_t lo, uintptr_t hi, const sw_range *skip, size_t nskip) {
    uint64_t total = hi - lo;
    for (size_t i = 0; i < nskip; i++) {
        if (skip[i].hi <= lo) continue;
        if (skip[i].lo >= hi) break;
        uintptr_t a = skip[i].lo > lo ? skip[i].lo : lo, b = skip[i].hi < hi ? skip[i].hi : hi;
        total -= b - a;
    }
    return total;
}

/* Scans the roots; with `measure`, only adds up the bytes it would read. */
static uint64_t scan_roots(sw_scan *s, const sw_range *skip, size_t nskip, bool measure) {
    uint64_t total = 0;
    int fd = sw_os_open(AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return 0;
    size_t cap = 1 << 22, len = 0;
    char *maps = sw_os_map(cap, true);
    ssize_t got;
    while (maps && len < cap - 1 && (got = read(fd, maps + len, cap - 1 - len)) > 0) len += (size_t)got;
    close(fd);
    if (!maps) return 0;
    maps[len] = 0;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    /* Two passes: named mappings first (modules' data and bss, the main stack), where
     * the roots of most structures live, then the heap and anonymous memory, so that a
     * program whose sampled objects are all referenced rarely reads its whole heap. */
    for (int pass = 0; pass < 2; pass++) {
        for (const char *line = maps; *line && (measure || s->remaining);) {
            const char *p = line;
            uintptr_t lo = parse_hex(&p);
            p++;
            uintptr_t hi = parse_hex(&p);
            p++;
            bool readable = p[0] == 'r', writable = p[1] == 'w';
            const char *path = strchr(p, '/');
            const char *bracket = strchr(p, '[');
            const char *eol = strchr(p, '\n');
            if (!eol) eol = p + strlen(p);
            if (path && path > eol) path = NULL;
            if (bracket && bracket > eol) bracket = NULL;
            bool special = bracket && (strncmp(bracket, "[vvar]", 6) == 0 || strncmp(bracket, "[vsyscall]", 10) == 0 ||
                                       strncmp(bracket, "[vdso]", 6) == 0);
            bool device = path && strncmp(path, "/dev/", 5) == 0;
            bool named = (path || bracket) && !(bracket && strncmp(bracket, "[heap]", 6) == 0);
            if (readable && writable && !special && !device && named == (pass == 0)) {
                /* Our own stack below this frame holds only dead copies of pointers. */
                if (sp >= lo && sp < hi) lo = sp;
                total += bytes_except(lo, hi, skip, nskip);
                if (!measure) sw_scan_root_except(s, lo, hi, skip, nskip);
            }
            line = *eol ? eol + 1 : eol;
        }
    }
    sw_os_unmap(maps, cap);
    return total;
}

bool sw_scan_conservatively(sw_snapshot_entry *objects, size_t n, bool *unreferenced, uint64_t max_bytes,
                            uint64_t *would_read) {
    sw_scan s;
    size_t skip_cap = n + SW_LIVE_STRIPES + 16;
    sw_range *skip = NULL;
    bool ran = true;
    *would_read = 0;
    if (sw_scan_begin(&s, objects, n, unreferenced) && (skip = sw_os_map(skip_cap * sizeof(sw_range), false))) {
        size_t nskip = collect_exclusions(&s, skip, skip_cap);
        /* the roots, and the sampled objects, which are read when reached */
        *would_read = scan_roots(&s, skip, nskip, true);
        for (size_t i = 0; i < n; i++) *would_read += objects[i].size;
        if (*would_read <= max_bytes) scan_roots(&s, skip, nskip, false);
        else ran = false, give_up(&s);
    } else {
        for (size_t i = 0; i < n; i++) unreferenced[i] = false; /* cannot tell: claim nothing */
    }
    sw_scan_end(&s);
    sw_os_unmap(skip, skip_cap * sizeof(sw_range));
    return ran;
}
