/* What a dump copies out of the live table, and the address ranges the scans pass around. */
#ifndef SW_SNAPSHOT_H
#define SW_SNAPSHOT_H

#include <stdint.h>

/* A live sampled allocation as copied out of the live table for one dump. */
typedef struct {
    uintptr_t ptr;
    uint64_t size;
    uint32_t stack_id;
    uint32_t birth_epoch;
} sw_snapshot_entry;

/* One past the object's last byte. An object of size 0 still owns its first byte:
 * malloc(0) returns a unique pointer. */
static inline uintptr_t sw_snapshot_end(const sw_snapshot_entry *e) { return e->ptr + (e->size ? e->size : 1); }

typedef struct {
    uintptr_t lo, hi;
} sw_range;

#endif
