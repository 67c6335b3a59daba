/* A parent and a forked child, each with its own site; the child must write its own
 * dumps (its pid in the names) and start with clean books. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define SITE __attribute__((noinline))
static void *kept[100];

SITE void *site_parent(void) { return malloc(100); }
SITE void *site_child(void) { return malloc(50); }

int main(void) {
    for (int i = 0; i < 10; i++) kept[i] = site_parent();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 10; i < 30; i++) { /* 300 ms: long enough for periodic dumps in the child */
            kept[i] = site_child();
            usleep(15 * 1000);
        }
        exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("forking: child %d exited %d\n", (int)pid, WEXITSTATUS(status));
    return 0;
}
