/* /proc and ELF reading for the injector (target.h). */
#define _GNU_SOURCE
#include "target.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t read_small_file(const char *path, char *out, size_t len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t n = 0;
    while (n + 1 < len) {
        ssize_t got = read(fd, out + n, len - 1 - n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        n += (size_t)got;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    out[n] = 0;
    return (ssize_t)n;
}

bool maps_read(pid_t pid, mapping_list *out) {
    memset(out, 0, sizeof *out);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    for (;;) {
        if (len + 4096 > cap) text = realloc(text, cap *= 2);
        ssize_t got = read(fd, text + len, cap - len - 1);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int saved = errno;
            close(fd);
            free(text);
            errno = saved;
            return false;
        }
        if (got == 0) break;
        len += (size_t)got;
    }
    close(fd);
    text[len] = 0;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    out->v = calloc(lines + 1, sizeof *out->v);
    out->text = text;
    for (char *line = text; line && *line;) {
        char *end = strchr(line, '\n');
        if (end) *end = 0;
        mapping *m = &out->v[out->n];
        unsigned long lo, hi, off;
        char perms[8];
        int consumed = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s%n", &lo, &hi, perms, &off, &consumed) >= 4) {
            m->lo = lo, m->hi = hi, m->offset = off;
            memcpy(m->perms, perms, 4);
            m->perms[4] = 0;
            char *p = line + consumed;
            while (*p == ' ') p++;
            m->path = p;
            out->n++;
        }
        line = end ? end + 1 : NULL;
    }
    return true;
}

void maps_free(mapping_list *m) {
    free(m->v);
    free(m->text);
    memset(m, 0, sizeof *m);
}

const mapping *maps_find(const mapping_list *m, uintptr_t address) {
    for (size_t i = 0; i < m->n; i++)
        if (address >= m->v[i].lo && address < m->v[i].hi) return &m->v[i];
    return NULL;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

module module_find(const mapping_list *m, const char *prefix) {
    module mod = {0};
    size_t plen = strlen(prefix);
    const char *path = NULL;
    for (size_t i = 0; i < m->n && !path; i++)
        if (m->v[i].path[0] == '/' && strncmp(base_name(m->v[i].path), prefix, plen) == 0) path = m->v[i].path;
    if (!path) return mod;
    mod.path = path;
    mod.exec_lo = mod.data_lo = UINTPTR_MAX;
    bool have_base = false;
    uintptr_t last_end = 0;
    for (size_t i = 0; i < m->n; i++) {
        const mapping *e = &m->v[i];
        bool same = strcmp(e->path, path) == 0;
        /* the bss right after a module's data is anonymous: count it as the module's */
        bool bss = !same && e->path[0] == 0 && e->lo == last_end && mod.data_hi == last_end;
        if (!same && !bss) continue;
        if (same && !have_base && e->offset == 0) {
            mod.bias = e->lo;
            have_base = true;
        }
        if (same && e->perms[2] == 'x') {
            if (e->lo < mod.exec_lo) mod.exec_lo = e->lo;
            if (e->hi > mod.exec_hi) mod.exec_hi = e->hi;
        }
        if (e->perms[1] == 'w') {
            if (e->lo < mod.data_lo) mod.data_lo = e->lo;
            if (e->hi > mod.data_hi) mod.data_hi = e->hi;
        }
        last_end = e->hi;
    }
    mod.found = have_base && mod.exec_hi;
    if (mod.data_lo == UINTPTR_MAX) mod.data_lo = mod.data_hi = 0;
    return mod;
}

bool elf_open(pid_t pid, const char *path, elf_file *out) {
    memset(out, 0, sizeof *out);
    char through_root[4096 + 64];
    snprintf(through_root, sizeof through_root, "/proc/%d/root%s", (int)pid, path);
    int fd = open(through_root, O_RDONLY | O_CLOEXEC);
    if (fd < 0) fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        close(fd);
        errno = ENOEXEC;
        return false;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return false;
    out->data = p;
    out->size = (size_t)st.st_size;
    return true;
}

void elf_close(elf_file *f) {
    if (f->data) munmap((void *)f->data, f->size);
    memset(f, 0, sizeof *f);
}

static const Elf64_Ehdr *header(const elf_file *f) {
    const Elf64_Ehdr *h = (const Elf64_Ehdr *)f->data;
    if (f->size < sizeof *h || memcmp(h->e_ident, ELFMAG, SELFMAG) != 0 || h->e_ident[EI_CLASS] != ELFCLASS64) return NULL;
    return h;
}

static const Elf64_Phdr *phdrs(const elf_file *f, int *count) {
    const Elf64_Ehdr *h = header(f);
    if (!h || h->e_phoff + (uint64_t)h->e_phnum * sizeof(Elf64_Phdr) > f->size) return NULL;
    *count = h->e_phnum;
    return (const Elf64_Phdr *)(f->data + h->e_phoff);
}

bool elf_is_x86_64(const elf_file *f, bool *is_64, bool *has_interp) {
    const unsigned char *id = f->data;
    *is_64 = f->size >= EI_NIDENT && memcmp(id, ELFMAG, SELFMAG) == 0 && id[EI_CLASS] == ELFCLASS64;
    *has_interp = false;
    const Elf64_Ehdr *h = header(f);
    if (!h) return false;
    int n = 0;
    const Elf64_Phdr *ph = phdrs(f, &n);
    for (int i = 0; ph && i < n; i++)
        if (ph[i].p_type == PT_INTERP) *has_interp = true;
    return h->e_machine == EM_X86_64;
}

uint64_t elf_first_load(const elf_file *f) {
    int n = 0;
    const Elf64_Phdr *ph = phdrs(f, &n);
    for (int i = 0; ph && i < n; i++)
        if (ph[i].p_type == PT_LOAD) return ph[i].p_vaddr & ~(uint64_t)4095;
    return 0;
}

uint64_t elf_tls_size(const elf_file *f) {
    int n = 0;
    const Elf64_Phdr *ph = phdrs(f, &n);
    for (int i = 0; ph && i < n; i++)
        if (ph[i].p_type == PT_TLS) return ph[i].p_memsz;
    return 0;
}

bool elf_symbol(const elf_file *f, const char *name, uint64_t *value, uint64_t *size) {
    const Elf64_Ehdr *h = header(f);
    if (!h || h->e_shoff == 0 || h->e_shoff + (uint64_t)h->e_shnum * sizeof(Elf64_Shdr) > f->size) return false;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(f->data + h->e_shoff);
    for (int i = 0; i < h->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= h->e_shnum) continue;
        const Elf64_Shdr *strs = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > f->size || strs->sh_offset + strs->sh_size > f->size) return false;
        const Elf64_Sym *sym = (const Elf64_Sym *)(f->data + sh[i].sh_offset);
        size_t count = sh[i].sh_size / sizeof *sym;
        const char *names = (const char *)(f->data + strs->sh_offset);
        for (size_t k = 0; k < count; k++) {
            if (sym[k].st_shndx == SHN_UNDEF || sym[k].st_value == 0 || sym[k].st_name >= strs->sh_size) continue;
            if (strcmp(names + sym[k].st_name, name) == 0) {
                *value = sym[k].st_value;
                if (size) *size = sym[k].st_size;
                return true;
            }
        }
    }
    return false;
}

bool elf_find_code(const elf_file *f, const unsigned char *bytes, size_t len, uint64_t *vaddr) {
    int n = 0;
    const Elf64_Phdr *ph = phdrs(f, &n);
    for (int i = 0; ph && i < n; i++) {
        if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X) || ph[i].p_offset + ph[i].p_filesz > f->size) continue;
        const unsigned char *seg = f->data + ph[i].p_offset;
        const unsigned char *hit = memmem(seg, ph[i].p_filesz, bytes, len);
        if (hit) {
            *vaddr = ph[i].p_vaddr + (uint64_t)(hit - seg);
            return true;
        }
    }
    return false;
}

bool proc_status_field(pid_t pid, const char *field, char *out, size_t len) {
    char path[64], text[8192];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (read_small_file(path, text, sizeof text) < 0) return false;
    size_t flen = strlen(field);
    for (char *line = text; line && *line;) {
        char *end = strchr(line, '\n');
        if (end) *end = 0;
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            const char *v = line + flen + 1;
            while (*v == ' ' || *v == '\t') v++;
            snprintf(out, len, "%s", v);
            return true;
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}
