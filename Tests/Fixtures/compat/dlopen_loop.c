/* dlopen and dlclose a library that allocates, 300 times: the module list changes under
 * the shim and each load's allocations are attributed to a library that then goes away. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int ok = 0;
    for (int i = 0; i < 300; i++) {
        void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            fprintf(stderr, "%s\n", dlerror());
            return 3;
        }
        void (*step)(void) = (void (*)(void))dlsym(lib, "leaky_step");
        if (step) step(), ok++;
        dlclose(lib);
    }
    printf("loaded %d times\n", ok);
    return 0;
}
