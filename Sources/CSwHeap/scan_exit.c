/* At exit: which sampled objects does nothing point to any more? First with LeakSanitizer's
 * semantics (scan_reachability.c: the heap traversed, not trusted); when that cannot run (a thread
 * did not stop, a heap the walker does not understand, another allocator), the conservative
 * scan here: roots are every readable, writable mapping of this process (stacks, data and
 * bss, heap, anonymous memory) minus the sampled objects themselves and the profiler's own
 * tables; the mark phase is scan_conservative.c. Unsampled heap memory counts as roots there, so leaked
 * structures and stale words look "referenced": blind, but never a false leak. */
#define _GNU_SOURCE
#include "shim.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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
    for (int i = 0; i < SW_LIVE_STRIPES && n < cap; i++) {
        sw_live_stripe *st = &sw_live_storage.stripes[i];
        if (st->slots) out[n++] = (sw_range){(uintptr_t)st->slots, (uintptr_t)(st->slots + st->capacity)};
    }
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

static void scan_roots(sw_scan *s, const sw_range *skip, size_t nskip) {
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
                sw_scan_root_except(s, lo, hi, skip, nskip);
            }
            line = *eol ? eol + 1 : eol;
        }
    }
    sw_os_unmap(maps, cap);
}

static void scan_conservatively(sw_snapshot_entry *objects, size_t n, bool *unreferenced) {
    sw_scan s;
    size_t skip_cap = n + SW_LIVE_STRIPES + 8;
    sw_range *skip = NULL;
    if (sw_scan_begin(&s, objects, n, unreferenced) && (skip = sw_os_map(skip_cap * sizeof(sw_range), false))) {
        size_t nskip = collect_exclusions(&s, skip, skip_cap);
        scan_roots(&s, skip, nskip);
    } else {
        for (size_t i = 0; i < n; i++) unreferenced[i] = false; /* cannot tell: claim nothing */
    }
    sw_scan_end(&s);
    sw_os_unmap(skip, skip_cap * sizeof(sw_range));
}

sw_scan_mode sw_scan_mark_unreferenced(sw_snapshot_entry *objects, size_t n, bool *unreferenced) {
    if (sw_allocator_is_glibc() && sw_scan_exact(objects, n, unreferenced)) return SW_SCAN_REACHABILITY;
    scan_conservatively(objects, n, unreferenced);
    return SW_SCAN_CONSERVATIVE;
}
