/* Stacks of sampled allocations (unwind.c). */
#ifndef SW_UNWIND_H
#define SW_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

/* At start-up: libunwind's per-thread cache, and this library's code range (its frames are
 * left out of every stack). */
void sw_unwind_init(bool frame_pointers);
/* The caller's return addresses, innermost first, at most max_depth; how many. */
uint32_t sw_unwind(uintptr_t *pcs, uint32_t max_depth);

#endif
