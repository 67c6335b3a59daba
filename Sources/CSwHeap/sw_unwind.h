/* Stacks of sampled allocations (unwind.c). */
#ifndef SW_UNWIND_H
#define SW_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#include "sw_stack_cache.h"

/* At start-up: libunwind's per-thread cache, and this library's code range (its frames are
 * left out of every stack). */
void sw_unwind_init(bool frame_pointers);
/* The caller's return addresses, innermost first, at most max_depth; how many. */
uint32_t sw_unwind(uintptr_t *pcs, uint32_t max_depth);
/* Where the program called into the shim (for the stack cache), following the shim's frame
 * chain from `frame` (a frame address of the shim's, the nearer the hooks the fewer frames to
 * follow); false when the chain or the thread's stack cannot be followed. */
bool sw_unwind_origin(sw_stack_origin *o, uintptr_t frame);
/* The stack with the stack address each return address was read from: slower than
 * sw_unwind, for the stack cache's misses. */
uint32_t sw_unwind_with_slots(uintptr_t *pcs, uintptr_t *slots, uint32_t max_depth);

#endif
