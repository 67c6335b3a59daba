/* The loaded objects (executable, libraries, vdso) with their PT_LOAD segments and GNU
 * build IDs, so dumps can be symbolised later on any machine. Read from the loader's own
 * list with dl_iterate_phdr, never while holding a lock the allocator path takes. */
#define _GNU_SOURCE
#include "sw_modules.h"
#include "sw_os.h"
#include "swheap_format.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

/* The executable's path as the program was started (execve's path, AT_EXECFN, made absolute),
 * when it still names the running file; else /proc/self/exe. /proc/self/exe resolves symbolic
 * links, so a server started as /usr/bin/redis-server, a link to redis-check-rdb, would be
 * named after the file it links to. Both name the same file for the symboliser. */
static void executable_path(char *out, size_t size) {
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    out[n > 0 ? n : 0] = 0;
    const char *started = (const char *)getauxval(AT_EXECFN);
    /* fexecve's /proc/self/fd/N or /dev/fd/N names nothing once the process is gone. */
    if (!started || !*started || strncmp(started, "/proc/", 6) == 0 || strncmp(started, "/dev/", 5) == 0) return;
    char path[4096];
    size_t length = 0;
    if (started[0] != '/') {
        if (!getcwd(path, sizeof path - 1)) return;
        length = strlen(path);
        path[length++] = '/';
        while (started[0] == '.' && started[1] == '/') started += 2;
    }
    size_t rest = strlen(started);
    if (length + rest >= sizeof path || length + rest >= size) return;
    memcpy(path + length, started, rest + 1);
    struct stat running, named;
    if (stat("/proc/self/exe", &running) != 0 || stat(path, &named) != 0) return;
    if (running.st_dev != named.st_dev || running.st_ino != named.st_ino) return;
    memcpy(out, path, length + rest + 1);
}

static size_t build_id(const struct dl_phdr_info *info, const unsigned char **id) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        const unsigned char *at = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        const unsigned char *end = at + ph->p_memsz;
        while (at + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *note = (const ElfW(Nhdr) *)at;
            const unsigned char *name = at + sizeof *note;
            const unsigned char *desc = name + ((note->n_namesz + 3) & ~3u);
            const unsigned char *next = desc + ((note->n_descsz + 3) & ~3u);
            if (next > end) break;
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                *id = desc;
                return note->n_descsz;
            }
            at = next;
        }
    }
    return 0;
}

struct module_writer {
    sw_buffer *b;
    uint32_t count;
};

static int write_module(struct dl_phdr_info *info, size_t size, void *ctx) {
    (void)size;
    struct module_writer *w = ctx;
    sw_buffer *b = w->b;
    char exe[4096];
    const char *path = info->dlpi_name;
    if (!path || !*path) {
        executable_path(exe, sizeof exe);
        path = exe;
    } else if (strstr(path, "linux-vdso") || strstr(path, "linux-gate")) {
        path = "[vdso]";
    }
    sw_buf_u64(b, (uint64_t)info->dlpi_addr);
    sw_buf_str(b, path, strlen(path));
    const unsigned char *id = NULL;
    size_t id_len = build_id(info, &id);
    sw_buf_str(b, (const char *)id, id_len);
    uint32_t loads = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) loads += info->dlpi_phdr[i].p_type == PT_LOAD;
    sw_buf_u32(b, loads);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        sw_format_segment segment = {.start = info->dlpi_addr + ph->p_vaddr,
                                     .end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz,
                                     .file_offset = ph->p_offset,
                                     .flags = ph->p_flags,
                                     .reserved = 0};
        sw_buf_put(b, &segment, sizeof segment);
    }
    w->count++;
    return 0;
}

void sw_modules_write(sw_buffer *b) {
    size_t count_at = b->len;
    sw_buf_u32(b, 0); /* patched: the list can change while we walk it */
    struct module_writer w = {b, 0};
    dl_iterate_phdr(write_module, &w);
    if (!b->failed) memcpy(b->data + count_at, &w.count, sizeof w.count);
}

struct self_search {
    uintptr_t probe, lo, hi;
    bool found;
};

static int find_self(struct dl_phdr_info *info, size_t size, void *ctx) {
    (void)size;
    struct self_search *s = ctx;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr, z = a + ph->p_memsz;
        if (a < lo) lo = a;
        if (z > hi) hi = z;
    }
    if (s->probe >= lo && s->probe < hi) {
        s->lo = lo, s->hi = hi, s->found = true;
        return 1;
    }
    return 0;
}

bool sw_self_range(uintptr_t probe, uintptr_t *lo, uintptr_t *hi) {
    struct self_search s = {.probe = probe};
    dl_iterate_phdr(find_self, &s);
    if (s.found) *lo = s.lo, *hi = s.hi;
    return s.found;
}
