/* Loads two copies of a plugin by bare name, so only the program's RUNPATH ($ORIGIN/plugins)
 * can find them: libdeep.so with RTLD_DEEPBIND, libplain.so without. Through each, allocates
 * blocks (kept) and frees blocks the program allocated.
 *   deepbind    (built with -Wl,--enable-new-dtags,-rpath,$ORIGIN/plugins) */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#define SITE __attribute__((noinline))

typedef void *(*alloc_fn)(size_t);
typedef void (*free_fn)(void *);

void *kept[100]; /* global: the compiler may not drop the mallocs */
static int nkept;

SITE void *site_deep_alloc(alloc_fn f) { return f(100); }
SITE void *site_plain_alloc(alloc_fn f) { return f(200); }
SITE void *site_program(void) { return malloc(35); }

static int load(const char *name, int flags, alloc_fn *a, free_fn *f) {
    void *h = dlopen(name, flags);
    if (!h) {
        printf("deepbind: cannot load %s: %s\n", name, dlerror());
        return 0;
    }
    *a = (alloc_fn)dlsym(h, "plugin_alloc");
    *f = (free_fn)dlsym(h, "plugin_free");
    return *a && *f;
}

int main(void) {
    alloc_fn deep_alloc, plain_alloc;
    free_fn deep_free, plain_free;
    if (!load("libdeep.so", RTLD_NOW | RTLD_DEEPBIND, &deep_alloc, &deep_free)) return 1;
    if (!load("libplain.so", RTLD_NOW, &plain_alloc, &plain_free)) return 1;
    for (int i = 0; i < 20; i++) kept[nkept++] = site_deep_alloc(deep_alloc);   /* live 20 x 100 */
    for (int i = 0; i < 10; i++) kept[nkept++] = site_plain_alloc(plain_alloc); /* live 10 x 200 */
    for (int i = 0; i < 30; i++) deep_free(site_program());                     /* freed 30 x 35 */
    for (int i = 0; i < 5; i++) plain_free(site_program());                     /* freed 5 x 35 */
    printf("deepbind: %d blocks kept\n", nkept);
    return 0;
}
