/* Each way out of a process: exit, _exit, _Exit, quick_exit, abort, return from main; also
 * _exit from a signal handler, and a vfork child's _exit (which must leave the parent's
 * books alone). Output is flushed first where the exit would not flush it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *kept[100]; /* global: the compiler may not drop the mallocs */

static void exit_from_handler(int sig) {
    (void)sig;
    _exit(16);
}

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
    if (!strcmp(how, "signal")) {
        signal(SIGUSR1, exit_from_handler);
        raise(SIGUSR1);
    }
    if (!strcmp(how, "vfork")) {
        pid_t child = vfork();
        if (child == 0) _exit(0);
        exit(child > 0 ? 17 : 1);
    }
    return 15;
}
