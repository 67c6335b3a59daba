/* The scans' one way to read memory (sw_scan_read.h). */
#define _GNU_SOURCE
#include "sw_os.h"
#include "sw_scan_read.h"

#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static int mem_fd = -1;                 /* /proc/self/mem, in a live scan's copy only */
static const sw_map_list *direct_maps; /* ... and its mappings, once known */

ssize_t sw_scan_read(void *to, uintptr_t from, size_t len) {
    const sw_mapping *m = direct_maps ? sw_maps_find(direct_maps, from) : NULL;
    if (m && m->readable && (m->kind == SW_MAP_ANON || m->kind == SW_MAP_HEAP || m->kind == SW_MAP_STACK)) {
        size_t n = m->hi - from < len ? m->hi - from : len;
        memcpy(to, (const void *)from, n);
        return (ssize_t)n;
    }
    if (mem_fd >= 0) return pread(mem_fd, to, len, (off_t)from);
    struct iovec local = {to, len}, remote = {(void *)from, len};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
}

void sw_scan_read_directly(const sw_map_list *maps) { direct_maps = maps; }

bool sw_scan_read_without_pinning(void) {
    if (mem_fd < 0) mem_fd = sw_os_open(AT_FDCWD, "/proc/self/mem", O_RDONLY | O_CLOEXEC, 0);
    return mem_fd >= 0;
}
