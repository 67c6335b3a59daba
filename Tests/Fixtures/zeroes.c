/* A loop leaking malloc(0) blocks: argv[1] of them (default 8,000,000). */
#include <stdio.h>
#include <stdlib.h>

#define SITE __attribute__((noinline))

SITE void *site_zero(void) { return malloc(0); }

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 8000000;
    long leaked = 0;
    for (long i = 0; i < n; i++) leaked += site_zero() != NULL;
    printf("zeroes: leaked %ld\n", leaked);
    return 0;
}
