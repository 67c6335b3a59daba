/* /proc/self/maps as a sorted array, read with raw read(2) into mmap'd memory: no stdio,
 * no malloc, so it can run at exit and while other threads are stopped. */
#define _GNU_SOURCE
#include "sw_os.h"
#include "sw_scan_maps.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static bool parse_hex(const char **p, const char *end, uintptr_t *out) {
    uintptr_t v = 0;
    const char *start = *p;
    for (; *p < end; (*p)++) {
        char c = **p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) break;
        v = v * 16 + (uintptr_t)d;
    }
    *out = v;
    return *p > start;
}

static sw_map_kind kind_of(const char *name, size_t len) {
    if (len == 0) return SW_MAP_ANON;
    if (name[0] == '/') return SW_MAP_FILE;
    if (len == 6 && memcmp(name, "[heap]", 6) == 0) return SW_MAP_HEAP;
    if (len == 7 && memcmp(name, "[stack]", 7) == 0) return SW_MAP_STACK;
    if (len >= 6 && memcmp(name, "[anon:", 6) == 0) return SW_MAP_ANON;
    return SW_MAP_SPECIAL; /* [vdso], [vvar], [vsyscall], deleted files shown oddly... */
}

bool sw_maps_parse(sw_map_list *list, const char *text, size_t len) {
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    size_t bytes = ((lines + 1) * sizeof(sw_mapping) + 4095) & ~(size_t)4095;
    *list = (sw_map_list){sw_os_map(bytes, false), 0, bytes};
    if (!list->maps) return false;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        sw_mapping m = {0};
        if (!parse_hex(&p, eol, &m.lo) || p >= eol || *p++ != '-' || !parse_hex(&p, eol, &m.hi) || eol - p < 5 ||
            *p++ != ' ' || m.hi <= m.lo) {
            sw_maps_free(list);
            return false;
        }
        m.readable = p[0] == 'r', m.writable = p[1] == 'w', m.executable = p[2] == 'x';
        /* the name starts after five space-separated fields: perms offset dev inode */
        int fields = 0;
        while (p < eol && fields < 4) {
            while (p < eol && *p != ' ') p++;
            while (p < eol && *p == ' ') p++;
            fields++;
        }
        m.kind = kind_of(p, (size_t)(eol - p));
        if (list->n && m.lo < list->maps[list->n - 1].hi) {
            sw_maps_free(list);
            return false;
        }
        list->maps[list->n++] = m;
        p = eol + 1;
    }
    return true;
}

bool sw_maps_read(sw_map_list *list) {
    *list = (sw_map_list){0};
    int fd = sw_os_open(AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return false;
    size_t cap = (size_t)1 << 24, len = 0;
    char *text = sw_os_map(cap, true);
    ssize_t got = 0;
    while (text && len < cap && (got = read(fd, text + len, cap - len)) > 0) len += (size_t)got;
    close(fd);
    bool ok = text && got >= 0 && len < cap && sw_maps_parse(list, text, len);
    if (text) sw_os_unmap(text, cap);
    return ok;
}

void sw_maps_free(sw_map_list *list) {
    if (list->maps) sw_os_unmap(list->maps, list->bytes);
    *list = (sw_map_list){0};
}

const sw_mapping *sw_maps_find(const sw_map_list *list, uintptr_t a) {
    size_t lo = 0, hi = list->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (list->maps[mid].hi <= a) lo = mid + 1;
        else hi = mid;
    }
    return lo < list->n && list->maps[lo].lo <= a ? &list->maps[lo] : NULL;
}
