/* At exit: which sampled objects does nothing point to any more? A conservative
 * mark phase in the spirit of LeakSanitizer, over the sampled objects only.
 * Roots are every readable, writable mapping (stacks, data and bss, heap, anonymous
 * memory) minus the sampled objects themselves and the profiler's own tables; then
 * objects found are scanned in turn, so cycles of dropped objects stay unreferenced.
 * Memory is read with process_vm_readv, which fails instead of faulting on ranges that
 * vanish or cannot be read. Unsampled heap memory counts as roots: stale pointers there
 * can make a leak look "referenced", the safe direction of error. */
#define _GNU_SOURCE
#include "shim.h"

#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

typedef struct {
    uintptr_t lo, hi;
} range;

/* The pages sampled objects occupy, as an open-addressing set: nearly every word of memory
 * that looks like a heap pointer points elsewhere, and one probe here rejects it before the
 * binary search over the objects. */
typedef struct {
    uintptr_t *slots; /* page number + 1; 0 = empty */
    size_t mask;
    size_t bytes;
} page_set;

static size_t page_slot(const page_set *set, uintptr_t page) {
    return (size_t)((page * 0x9E3779B97F4A7C15ull) >> 20) & set->mask;
}

static void page_set_add(page_set *set, uintptr_t page) {
    for (size_t i = page_slot(set, page);; i = (i + 1) & set->mask) {
        if (set->slots[i] == page + 1) return;
        if (set->slots[i] == 0) {
            set->slots[i] = page + 1;
            return;
        }
    }
}

static bool page_set_contains(const page_set *set, uintptr_t page) {
    for (size_t i = page_slot(set, page);; i = (i + 1) & set->mask) {
        if (set->slots[i] == page + 1) return true;
        if (set->slots[i] == 0) return false;
    }
}

typedef struct {
    sw_snapshot_entry *objects;
    size_t n;
    page_set pages;
    bool *unreferenced;
    size_t *worklist;
    size_t pending;
    size_t remaining; /* objects not yet found referenced: at 0 the scan can stop */
    bool draining;
    uintptr_t min, max;
    char *chunk;
} scan_state;

enum { CHUNK = 1 << 20 };

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

static uintptr_t end_of(const sw_snapshot_entry *e) { return e->ptr + (e->size ? e->size : 1); }

/* Index of the object containing address v, or -1. */
static long object_at(const scan_state *s, uintptr_t v) {
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->objects[mid].ptr <= v) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return -1;
    return v < end_of(&s->objects[lo - 1]) ? (long)(lo - 1) : -1;
}

static void mark(scan_state *s, uintptr_t v) {
    if (v < s->min || v >= s->max || !page_set_contains(&s->pages, v >> 12)) return;
    long i = object_at(s, v);
    if (i < 0 || !s->unreferenced[i]) return;
    s->unreferenced[i] = false;
    s->remaining--;
    s->worklist[s->pending++] = (size_t)i;
}

static void scan_words(scan_state *s, const char *bytes, size_t len) {
    const uintptr_t *w = (const uintptr_t *)bytes;
    for (size_t i = 0; i < len / sizeof(uintptr_t); i++) mark(s, w[i]);
}

static void scan_range(scan_state *s, uintptr_t lo, uintptr_t hi);

/* Follows what the objects found so far point to, at once rather than after all roots:
 * the sooner every object is known to be referenced, the sooner the scan stops. */
static void drain(scan_state *s) {
    if (s->draining) return;
    s->draining = true;
    while (s->pending && s->remaining) {
        const sw_snapshot_entry *e = &s->objects[s->worklist[--s->pending]];
        scan_range(s, e->ptr, e->ptr + e->size);
    }
    s->draining = false;
}

/* Reads [lo, hi) of our own memory without faulting, page by page where a chunk fails. */
static void scan_range(scan_state *s, uintptr_t lo, uintptr_t hi) {
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    pid_t self = getpid();
    while (lo < hi && s->remaining) { /* once every object is referenced, nothing can change */
        size_t want = hi - lo < CHUNK ? hi - lo : CHUNK;
        struct iovec local = {s->chunk, want}, remote = {(void *)lo, want};
        ssize_t got = process_vm_readv(self, &local, 1, &remote, 1, 0);
        if (got > 0) {
            scan_words(s, s->chunk, (size_t)got);
            lo += (size_t)got;
            drain(s); /* the chunk is consumed: draining may reuse it */
        } else {
            lo = (lo | 4095) + 1; /* unreadable page: skip it */
        }
    }
}

/* Scans [lo, hi) minus the sorted excluded ranges. */
static void scan_except(scan_state *s, uintptr_t lo, uintptr_t hi, const range *skip, size_t nskip) {
    for (size_t i = 0; i < nskip && lo < hi; i++) {
        if (skip[i].hi <= lo) continue;
        if (skip[i].lo >= hi) break;
        if (skip[i].lo > lo) scan_range(s, lo, skip[i].lo);
        lo = skip[i].hi > lo ? skip[i].hi : lo;
    }
    if (lo < hi) scan_range(s, lo, hi);
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
static size_t collect_exclusions(scan_state *s, range *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < s->n && n < cap; i++) out[n++] = (range){s->objects[i].ptr, end_of(&s->objects[i])};
    for (int i = 0; i < SW_LIVE_STRIPES && n < cap; i++) {
        sw_live_stripe *st = &sw_live_storage.stripes[i];
        if (st->slots) out[n++] = (range){(uintptr_t)st->slots, (uintptr_t)(st->slots + st->capacity)};
    }
    if (n < cap) out[n++] = (range){(uintptr_t)s->objects, (uintptr_t)(s->objects + s->n)};
    if (n < cap) out[n++] = (range){(uintptr_t)s->unreferenced, (uintptr_t)(s->unreferenced + s->n)};
    if (n < cap) out[n++] = (range){(uintptr_t)s->worklist, (uintptr_t)(s->worklist + s->n)};
    if (n < cap) out[n++] = (range){(uintptr_t)s->chunk, (uintptr_t)s->chunk + CHUNK};
    if (n < cap) out[n++] = (range){(uintptr_t)out, (uintptr_t)(out + cap)}; /* holds every object's address */
    if (n < cap) out[n++] = (range){(uintptr_t)s->pages.slots, (uintptr_t)s->pages.slots + s->pages.bytes};
    /* insertion sort is enough: the object ranges are already in order */
    for (size_t i = 1; i < n; i++) {
        range r = out[i];
        size_t j = i;
        while (j > 0 && out[j - 1].lo > r.lo) out[j] = out[j - 1], j--;
        out[j] = r;
    }
    return n;
}

static void scan_roots(scan_state *s, const range *skip, size_t nskip) {
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    size_t cap = 1 << 22, len = 0;
    char *maps = sw_os_map(cap, true);
    ssize_t got;
    while (maps && len < cap - 1 && (got = read(fd, maps + len, cap - 1 - len)) > 0) len += (size_t)got;
    close(fd);
    if (!maps) return;
    maps[len] = 0;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    /* Two passes: named mappings first (modules' data and bss, the main stack), where
     * the roots of most structures live, then the heap and anonymous memory, so that a
     * program whose sampled objects are all referenced rarely reads its whole heap. */
    for (int pass = 0; pass < 2; pass++) {
        for (const char *line = maps; *line && s->remaining;) {
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
                scan_except(s, lo, hi, skip, nskip);
            }
            line = *eol ? eol + 1 : eol;
        }
    }
    sw_os_unmap(maps, cap);
}

void sw_scan_mark_unreferenced(sw_snapshot_entry *objects, size_t n, bool *unreferenced) {
    scan_state s = {.objects = objects, .n = n, .unreferenced = unreferenced, .remaining = n};
    sort_by_address(objects, n);
    for (size_t i = 0; i < n; i++) unreferenced[i] = true;
    s.min = n ? objects[0].ptr : 0;
    s.max = n ? end_of(&objects[n - 1]) : 0;
    size_t pages = 0;
    for (size_t i = 0; i < n; i++) pages += ((end_of(&objects[i]) - 1) >> 12) - (objects[i].ptr >> 12) + 1;
    size_t slots = 64;
    while (slots < 2 * pages) slots *= 2;
    s.pages = (page_set){sw_os_map(slots * sizeof(uintptr_t), false), slots - 1, slots * sizeof(uintptr_t)};
    if (s.pages.slots)
        for (size_t i = 0; i < n; i++)
            for (uintptr_t page = objects[i].ptr >> 12; page <= (end_of(&objects[i]) - 1) >> 12; page++)
                page_set_add(&s.pages, page);
    s.worklist = sw_os_map(n * sizeof(size_t), false);
    s.chunk = sw_os_map(CHUNK, false);
    size_t skip_cap = n + SW_LIVE_STRIPES + 8;
    range *skip = sw_os_map(skip_cap * sizeof(range), false);
    if (!s.worklist || !s.chunk || !skip || !s.pages.slots) {
        for (size_t i = 0; i < n; i++) unreferenced[i] = false; /* cannot tell: claim nothing */
    } else {
        size_t nskip = collect_exclusions(&s, skip, skip_cap);
        scan_roots(&s, skip, nskip);
        drain(&s); /* objects reached so far keep what they point to alive */
    }
    sw_os_unmap(s.worklist, n * sizeof(size_t));
    sw_os_unmap(s.chunk, CHUNK);
    sw_os_unmap(skip, skip_cap * sizeof(range));
    sw_os_unmap(s.pages.slots, s.pages.bytes);
}
