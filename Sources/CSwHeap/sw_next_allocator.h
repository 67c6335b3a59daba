/* The allocator underneath (next_allocator.c): the next definition of each entry point after
 * this library (jemalloc, tcmalloc, mimalloc or glibc). The hooks call through these
 * pointers. */
#ifndef SW_NEXT_ALLOCATOR_H
#define SW_NEXT_ALLOCATOR_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
} sw_next_allocator;
/* Hidden: the hooks reach it PC-relative, `jmp *sw_next.malloc(%rip)`, no GOT load. */
extern sw_next_allocator sw_next __attribute__((visibility("hidden")));
/* Blocks served from the bootstrap buffer while dlsym looked the allocator up: never given to
 * the real allocator. Their addresses are marked in the live filter, so free's and realloc's
 * slow paths are the only ones that need to ask. */
bool sw_next_owns(const void *p);
/* realloc of a bootstrap block: a real block with its contents. */
void *sw_next_move_owned(void *p, size_t size);
void sw_next_postfork_child(void);
/* Whether the allocator underneath is glibc's (its chunk layout can be walked); for the exit
 * scan, which must not assume glibc's heap under jemalloc, tcmalloc or mimalloc. */
bool sw_allocator_is_glibc(void);
/* Attach mode (Sources/CSwHeapPreload/attach.c): the allocator is the program's global
 * definition of each entry point (this library was loaded later, RTLD_LOCAL). false, with the
 * entry point named, when one is not a plain definition. From then on sw_next_symbol looks in
 * the global scope too. */
bool sw_next_resolve_attached(const char **missing);
/* The next definition of `name` after this library: dlsym(RTLD_NEXT) when preloaded, the
 * global definition when attached. */
void *sw_next_symbol(const char *name);

#endif
