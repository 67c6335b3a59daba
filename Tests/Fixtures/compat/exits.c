/* Each way out of a process: exit, _exit, _Exit, quick_exit, abort, return from main.
 * Output is flushed first where the exit would not flush it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *kept[100];

int main(int argc, char **argv) {
    for (int i = 0; i < 100; i++) kept[i] = malloc(100 + (size_t)i);
    const char *how = argc > 1 ? argv[1] : "return";
    printf("leaving by %s\n", how);
    fflush(stdout);
    if (!strcmp(how, "exit")) exit(11);
    if (!strcmp(how, "_exit")) _exit(12);
    if (!strcmp(how, "_Exit")) _Exit(13);
    if (!strcmp(how, "quick_exit")) quick_exit(14);
    if (!strcmp(how, "abort")) abort();
    return 15;
}
