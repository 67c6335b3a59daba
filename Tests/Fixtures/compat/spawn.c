/* posix_spawn, and fork then exec, of a program that prints: the children's output and
 * statuses must be the same with and without the preload. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void) {
    char *args[] = {"/bin/sh", "-c", "echo spawned; exit 7", NULL};
    pid_t pid;
    fflush(stdout);
    if (posix_spawn(&pid, "/bin/sh", NULL, NULL, args, environ) != 0) return 90;
    int status = 0;
    waitpid(pid, &status, 0);
    printf("posix_spawn status %d\n", WEXITSTATUS(status));
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        char *child[] = {"/bin/sh", "-c", "echo exec; exit 9", NULL};
        execv("/bin/sh", child);
        _exit(91);
    }
    waitpid(pid, &status, 0);
    printf("fork+exec status %d\n", WEXITSTATUS(status));
    return 0;
}
