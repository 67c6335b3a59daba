/* A shared library, loaded with dlopen by the scenarios fixture, that leaks on every call. */
#include <stdlib.h>

static volatile size_t sink;

__attribute__((noinline)) static void *leaky_record(void) { return malloc(640); }

void leaky_step(void) {
    for (int i = 0; i < 6; i++) {
        char *p = leaky_record();
        p[0] = 3;
        sink += (size_t)p[0]; /* dropped */
    }
}
