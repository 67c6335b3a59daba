/* A per-thread cache of recently unwound stacks (stack_cache.c), so that exact mode does not
 * unwind the same call path at every allocation. */
#ifndef SW_STACK_CACHE_H
#define SW_STACK_CACHE_H

#include <stdbool.h>
#include <stdint.h>

/* Where the program hands over to the shim: the return address into the program and the
 * stack address that holds it (unwind.c finds both by the shim's own frame pointers). */
typedef struct {
    uintptr_t ra;
    uintptr_t slot;
    uintptr_t stack_hi; /* the top of this thread's stack: no slot lies at or above it */
} sw_stack_origin;

/* At start-up: entries hold stacks of at most max_depth frames. */
void sw_stack_cache_init(uint32_t max_depth);
/* The stack id cached for this origin when every return address of that stack still sits
 * where it sat (so the unwind would find the same frames), else 0. */
uint32_t sw_stack_cache_find(const sw_stack_origin *o);
/* Remembers stack `id`: its return addresses pcs[0..depth) and the stack address each was
 * read from (slots; pcs[0] must be the origin's). Nothing is kept for a stack whose slots are
 * not all on this thread's stack above the origin, in order (a signal frame, another stack). */
void sw_stack_cache_store(const sw_stack_origin *o, const uintptr_t *pcs, const uintptr_t *slots, uint32_t depth,
                          uint32_t id);

#endif
