/* The deduplicating stack table (stacks.c). */
#ifndef SW_STACKS_H
#define SW_STACKS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_os.h"
#include "sw_sampler.h"
#include "swheap_format.h"

#define SW_MAX_DEPTH SW_FORMAT_MAX_DEPTH

typedef struct {
    uint64_t hash;
    uint32_t id;
    uint32_t depth;
    _Atomic uint64_t alloc_objects; /* double bits: estimated objects allocated */
    _Atomic uint64_t alloc_bytes;   /* double bits: estimated bytes allocated */
    /* Samples that stand for exactly themselves (every one at rate 1) are counted as integers:
     * an atomic add, not a compare-and-swap loop on a double. The figures are the sums. */
    _Atomic uint64_t exact_objects, exact_bytes;
    uintptr_t pcs[];
} sw_stack;

typedef struct {
    sw_lock lock;                 /* taken only to add a stack */
    _Atomic uint32_t *index;      /* open addressing: slot -> stack id, 0 = empty */
    uint32_t index_mask;
    sw_stack **by_id;             /* id -> record; ids 1..count are published */
    uint32_t max_ids;
    _Atomic uint32_t count;
    char *arena;
    size_t arena_used;
    size_t arena_capacity;
    atomic_int full;              /* set once a stack could not be added */
} sw_stack_table;

/* Stack id 1 is the empty stack; it also stands for stacks that did not fit. */
#define SW_STACK_UNKNOWN 1u

sw_stack_table *sw_stacks_create(uint32_t max_stacks, size_t arena_bytes);
void sw_stacks_destroy(sw_stack_table *t);
/* Returns the id of this stack, adding it if new. Lock-free when the stack is known. */
uint32_t sw_stacks_intern(sw_stack_table *t, const uintptr_t *pcs, uint32_t depth);
const sw_stack *sw_stacks_get(const sw_stack_table *t, uint32_t id);
uint32_t sw_stacks_count(const sw_stack_table *t);
void sw_stacks_add_weight(sw_stack_table *t, uint32_t id, sw_weight w);
/* Zero every stack's allocation totals (a forked child starts clean). */
void sw_stacks_reset_weights(sw_stack_table *t);
double sw_stacks_alloc_objects(const sw_stack *s);
double sw_stacks_alloc_bytes(const sw_stack *s);
/* fork: the add lock is not held across it; the child keeps the stacks (ids stay valid in
 * its copy of the live table's memory) but starts its allocation totals from zero. */
void sw_stacks_prefork(sw_stack_table *t);
void sw_stacks_postfork_parent(sw_stack_table *t);
void sw_stacks_postfork_child(sw_stack_table *t);

#endif
