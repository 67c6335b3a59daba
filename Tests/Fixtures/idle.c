/* Allocates at start-up, then goes idle until killed (or for argv[1] seconds).
 *   idle [SECONDS] */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SITE __attribute__((noinline))

static void *kept[50];

SITE void *site_startup(void) { return malloc(1000); }

int main(int argc, char **argv) {
    for (int i = 0; i < 50; i++) kept[i] = site_startup(); /* live 50 x 1000 */
    printf("idle: ready\n");
    fflush(stdout);
    sleep(argc > 1 ? (unsigned)atoi(argv[1]) : 60);
    return 0;
}
