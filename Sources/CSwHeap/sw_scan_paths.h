/* What a scan found beyond the verdicts (scan_paths.c), built from the flood's per-chunk
 * records once it is done, inside the scan (in the copy, for a live scan): per referenced
 * stack, the shortest path from a root to its nearest block; per unreferenced stack, the
 * unreferenced components its blocks belong to. These are the SCAN section's holder, step
 * and component records (swheap_format.h). */
#ifndef SW_SCAN_PATHS_H
#define SW_SCAN_PATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_scan_heap.h"
#include "sw_scan_maps.h"
#include "sw_scan_threads.h"
#include "sw_snapshot.h"
#include "swheap_format.h"

/* One mapping of `bytes` holds every array; `shared` with a copy of the process (a live
 * scan's), which fills it in for the caller to read. */
typedef struct {
    void *base;
    size_t bytes;
    bool shared;
    uint32_t max_id;                /* stack ids run from 1 to max_id */
    size_t steps_cap;
    sw_format_holder *holder;       /* [max_id + 1], by stack id; stack_id 0 where none */
    sw_format_component *component; /* [(max_id + 1) * SW_STACK_COMPONENTS]; stack_id 0 where none */
    sw_format_step *step;           /* [steps_cap], by stack id, then path order */
    uint64_t *nsteps;
} sw_scan_paths;

/* Sized for the stacks of `entries` (pages are touched only as used), shared with copies of
 * the process when `shared`; false when memory cannot be mapped. */
bool sw_scan_paths_init(sw_scan_paths *p, const sw_snapshot_entry *entries, size_t n, bool shared);
void sw_scan_paths_free(sw_scan_paths *p);

/* A module's static TLS: its image (load bias + PT_TLS p_vaddr) and where a thread's block
 * of it lies from the thread pointer (the same in every thread). */
typedef struct {
    uintptr_t image;
    uintptr_t below_tp; /* block = tp - below_tp */
    size_t size;
} sw_tls_module;

/* What names a root: the threads (the scanning thread, when a root, is `self` with the stack
 * pointer it counts from and no program counter), the modules' TLS, the mappings (code). */
typedef struct {
    const sw_world *world;
    uint32_t self_tid;
    uintptr_t self_sp;
    const sw_tls_module *tls;
    size_t ntls;
    const sw_map_list *maps;
} sw_path_names;

/* After a flood that tracked holders (f->holder_of) and ran to its end where an object is
 * unreferenced. `chunk_of`: each object's chunk or -1. Paths need f->holder_of; components
 * read the unreferenced chunks again (f->buffer, f->work reused). */
void sw_scan_paths_fill(sw_scan_paths *p, sw_flood *f, const long *chunk_of, const sw_snapshot_entry *objects,
                        size_t n, const bool *unreferenced, const sw_path_names *names);

#endif
