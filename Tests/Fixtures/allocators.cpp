// Allocates through every entry point on whatever allocator the process has (jemalloc,
// tcmalloc or mimalloc, linked or preloaded; or glibc), then asks that allocator, through its
// own API, whether it owns the blocks: proof that the program kept its allocator.
//   allocators ALLOCATOR    (jemalloc, tcmalloc, mimalloc or glibc)
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SITE extern "C" __attribute__((noinline))

struct Widget {
    char payload[64];
};

SITE void *site_malloc(void) { return malloc(1000); }
SITE void *site_calloc(void) { return calloc(10, 30); }
SITE void *site_zero(void) { return malloc(0); }
SITE void *site_churn(void) { return malloc(500); }
SITE void *site_memalign(void) {
    void *p = NULL;
    return posix_memalign(&p, 64, 256) == 0 ? p : NULL;
}
SITE Widget *site_new(void) { return new Widget(); }

static void *kept[400];
static int nkept;

// Whether `which` owns p, asked through its own API (looked up at run time, so one binary
// serves every allocator). -1: that allocator's API is not in the process.
static int owns(const char *which, void *p) {
    if (!strcmp(which, "tcmalloc")) {
        auto f = (int (*)(const void *))dlsym(RTLD_DEFAULT, "MallocExtension_GetOwnership");
        return f ? f(p) == 1 : -1; // kOwned
    }
    if (!strcmp(which, "mimalloc")) {
        auto f = (bool (*)(const void *))dlsym(RTLD_DEFAULT, "mi_check_owned");
        return f ? f(p) : -1;
    }
    if (!strcmp(which, "jemalloc")) {
        auto f = (int (*)(const char *, void *, size_t *, void *, size_t))dlsym(RTLD_DEFAULT, "mallctl");
        unsigned arena;
        size_t len = sizeof arena;
        return f ? f("arenas.lookup", &arena, &len, &p, sizeof p) == 0 : -1;
    }
    // glibc: a chunk header with the in-use size malloc_usable_size reports
    return dlsym(RTLD_DEFAULT, "mallctl") == NULL && dlsym(RTLD_DEFAULT, "mi_check_owned") == NULL &&
           dlsym(RTLD_DEFAULT, "MallocExtension_GetOwnership") == NULL;
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "glibc";
    for (int i = 0; i < 200; i++) kept[nkept++] = site_malloc();       // live 200 x 1000
    for (int i = 0; i < 50; i++) kept[nkept++] = site_calloc();        // live 50 x 300
    for (int i = 0; i < 40; i++) kept[nkept++] = site_zero();          // live 40 x 0
    for (int i = 0; i < 300; i++) free(site_churn());                  // freed 300 x 500
    for (int i = 0; i < 20; i++) kept[nkept++] = site_memalign();      // live 20 x 256
    Widget *widgets[30];
    for (int i = 0; i < 30; i++) widgets[i] = site_new();              // 30 x 64
    for (int i = 0; i < 10; i++) delete widgets[i];                    // live 20 x 64
    for (int i = 10; i < 30; i++) kept[nkept++] = widgets[i];
    int owned = 0, unknown = 0;
    for (int i = 0; i < nkept; i++) {
        int o = owns(which, kept[i]);
        if (o < 0) unknown++;
        else owned += o;
    }
    if (unknown) printf("allocators: %s is not in this process\n", which);
    else printf("allocators: %s owns %d of %d blocks\n", which, owned, nkept);
    return 0;
}
