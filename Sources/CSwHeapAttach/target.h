/* What the injector knows about the target process: its mappings, the modules it needs in
 * them (libc, the dynamic loader, the allocator, libswheap.so) and the addresses of the few
 * functions it uses, read from the files' own symbol tables (target.c). */
#ifndef SWHEAP_ATTACH_TARGET_H
#define SWHEAP_ATTACH_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    uintptr_t lo, hi, offset;
    char perms[5];
    char *path; /* "" for anonymous memory */
} mapping;

typedef struct {
    mapping *v;
    size_t n;
    char *text; /* the paths live here */
} mapping_list;

bool maps_read(pid_t pid, mapping_list *out);
void maps_free(mapping_list *m);
const mapping *maps_find(const mapping_list *m, uintptr_t address);

/* A module (a file mapped by the loader) in the target. */
typedef struct {
    const char *path;     /* as in /proc/PID/maps */
    uintptr_t bias;       /* load address minus the file's first PT_LOAD vaddr */
    uintptr_t exec_lo, exec_hi;   /* its executable mapping(s), as one range */
    uintptr_t data_lo, data_hi;   /* its writable mapping(s) and the bss after them */
    bool found;
} module;

/* Finds the module whose path's last component starts with `prefix` ("libc.so", ...). */
module module_find(const mapping_list *m, const char *prefix);

/* An open ELF file of the target's (through /proc/PID/root, so a target in another mount
 * namespace is read correctly). */
typedef struct {
    const unsigned char *data;
    size_t size;
} elf_file;

bool elf_open(pid_t pid, const char *path, elf_file *out);
void elf_close(elf_file *f);
/* The value and size of a defined dynamic symbol; false when absent. */
bool elf_symbol(const elf_file *f, const char *name, uint64_t *value, uint64_t *size);
/* The vaddr of the first occurrence of `bytes` in an executable segment; false when absent. */
bool elf_find_code(const elf_file *f, const unsigned char *bytes, size_t len, uint64_t *vaddr);
/* The first PT_LOAD's vaddr (page-aligned down). */
uint64_t elf_first_load(const elf_file *f);
/* Class and machine: true for a 64-bit x86-64 ELF. *dynamic: has PT_INTERP or PT_DYNAMIC. */
bool elf_is_x86_64(const elf_file *f, bool *is_64, bool *has_interp);
/* Size of the PT_TLS segment in memory (0 when none). */
uint64_t elf_tls_size(const elf_file *f);

/* A line of /proc/PID/status ("Uid", "TracerPid", ...) into out; false when absent. */
bool proc_status_field(pid_t pid, const char *field, char *out, size_t len);
/* Reads a whole small file (NUL-terminated); bytes read or -1 with errno set. */
ssize_t read_small_file(const char *path, char *out, size_t len);

#endif
