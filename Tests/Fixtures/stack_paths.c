/* Call paths that differ only above the allocating frames, for the stack cache of exact mode
 * (stack_cache.c): site_path_a and site_path_b have the same code, so `middle` and
 * `allocate` sit at the same stack addresses and return to the same places under both; only
 * the return address into site_path_a or site_path_b differs. Interleaved pseudo-randomly,
 * with known counts: A_CALLS from a, B_CALLS from b, and the recursion below at depths 0-5. */
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
enum { CALLS = 5000 };

static void *volatile sink;

NOINLINE static void *allocate(size_t n) { return malloc(n); }
NOINLINE static void *middle(size_t n) {
    void *p = allocate(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
NOINLINE void *site_path_a(size_t n) {
    void *p = middle(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
NOINLINE void *site_path_b(size_t n) {
    void *p = middle(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
NOINLINE static void *recurse(int depth, size_t n) {
    void *p = depth ? recurse(depth - 1, n) : allocate(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
NOINLINE void *site_recursion(int depth, size_t n) { return recurse(depth, n); }

int main(void) {
    unsigned x = 2463534242u, a = 0, b = 0, r = 0;
    for (int i = 0; i < CALLS; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        if (x % 5 < 3) sink = site_path_a(24), a++;
        else sink = site_path_b(40), b++;
        free(sink);
        sink = site_recursion((int)(x >> 8) % 6, 8);
        free(sink);
        r++;
    }
    printf("a %u b %u recursion %u\n", a, b, r);
    return 0;
}
