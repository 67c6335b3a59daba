/* How the scans read the program's memory (scan_read.c): by a system call that fails instead
 * of faulting on a page unmapped meanwhile; only in a live scan's copy, where nothing can be
 * unmapped any more, by plain loads from anonymous memory. */
#ifndef SW_SCAN_READ_H
#define SW_SCAN_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sw_scan_maps.h"

/* Copies up to `len` bytes at address `from` of this process into `to`; returns how many, up
 * to the first page that cannot be read (0 or -1 when the first cannot). */
ssize_t sw_scan_read(void *to, uintptr_t from, size_t len);

/* In the copy a live scan runs in (scan_reachability.c): read through /proc/self/mem from now
 * on. process_vm_readv pins the pages it reads, and pinning a page the copy shares with the
 * program (copy-on-write since the fork) makes the kernel copy it first (Linux 5.19 on): every
 * page read would be duplicated. /proc/self/mem reads without pinning. false when it cannot be
 * opened (process_vm_readv is kept). */
bool sw_scan_read_without_pinning(void);

/* In that copy, once its mappings are known: read anonymous memory (the heap, stacks, bss)
 * with plain loads, within the readable mapping that holds the address; the rest as above.
 * The copy is a process of one thread, so its mappings cannot change under the loads. */
void sw_scan_read_directly(const sw_map_list *maps);

#endif
