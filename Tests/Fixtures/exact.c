/* Every allocator entry point from a known site, with known counts and sizes.
 * At SWHEAP_RATE=1 the dumps must match this program's books exactly. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SITE __attribute__((noinline))
static void *kept[1000];
static int nkept;
static void keep(void *p) { kept[nkept++] = p; }

SITE void *site_malloc(size_t n) { return malloc(n); }
SITE void *site_calloc(size_t n) { return calloc(n, 10); }
SITE void *site_realloc_grow(void *p, size_t n) { return realloc(p, n); }
SITE void *site_realloc_zero_source(void) { return malloc(40); }
SITE void *site_realloc_fail_source(void) { return malloc(48); }
SITE void *site_reallocarray(void) { return reallocarray(NULL, 8, 16); }
SITE void *site_posix_memalign(void) {
    void *p = NULL;
    return posix_memalign(&p, 64, 256) == 0 ? p : NULL;
}
SITE void *site_aligned_alloc(void) { return aligned_alloc(64, 128); }
SITE void *site_memalign(void) { return memalign(32, 96); }
SITE void *site_valloc(void) { return valloc(100); }
SITE void *site_pvalloc(void) { return pvalloc(100); }
SITE void *site_zero(void) { return malloc(0); }
SITE void *site_strdup(void) { return strdup("hello"); }

int main(void) {
    for (int i = 0; i < 100; i++) keep(site_malloc(64));                 /* live 100 x 64 */
    for (int i = 0; i < 50; i++) free(site_calloc(10));                  /* freed 50 x 100 */
    void *grown = NULL;
    for (size_t n = 100; n <= 1000; n += 100) grown = site_realloc_grow(grown, n); /* 10 allocs, live 1 x 1000 */
    keep(grown);
    void *zeroed = site_realloc_zero_source();
    if (realloc(zeroed, 0) != NULL) return 2;                            /* glibc frees: live 0 */
    void *survivor = site_realloc_fail_source();
    if (realloc(survivor, SIZE_MAX / 2) != NULL) return 2;               /* fails: still live 1 x 48 */
    keep(survivor);
    for (int i = 0; i < 4; i++) keep(site_reallocarray());               /* live 4 x 128 */
    for (int i = 0; i < 10; i++) keep(site_posix_memalign());            /* live 10 x 256 */
    for (int i = 0; i < 10; i++) {                                       /* 10 x 128, live 5 */
        void *p = site_aligned_alloc();
        if (i % 2) free(p);
        else keep(p);
    }
    for (int i = 0; i < 5; i++) free(site_memalign());                   /* freed 5 x 96 */
    for (int i = 0; i < 3; i++) keep(site_valloc());                     /* live 3 x 100 */
    for (int i = 0; i < 2; i++) keep(site_pvalloc());                    /* live 2 x 100 */
    for (int i = 0; i < 7; i++) keep(site_zero());                       /* live 7 x 0 */
    for (int i = 0; i < 5; i++) keep(site_strdup());                     /* live 5 x 6 */
    free(NULL);
    if (malloc_usable_size(kept[0]) < 64) return 3;
    printf("exact: kept %d objects\n", nkept);
    return 0;
}
