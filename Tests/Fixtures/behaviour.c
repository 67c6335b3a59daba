/* Output and exit status that must not change under the preload.
 *   behaviour a b   prints, allocates, exits 3
 *   behaviour kill  dies of SIGTERM
 *   behaviour exec  forks; the child re-executes this program as "behaviour child", which
 *                   reports LD_PRELOAD; the parent exits with the child's status
 *   behaviour inplace  runs a while (periodic dumps), then execs "behaviour child" in place */
#include <signal.h>
#include <sys/single_threaded.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "kill") == 0) raise(SIGTERM);
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            execl("/proc/self/exe", argv[0], "child", (char *)NULL);
            _exit(1);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    if (argc > 1 && strcmp(argv[1], "inplace") == 0) {
        for (int i = 0; i < 20; i++) {
            void *volatile p = malloc(1000); /* volatile: the compiler may not drop the pair */
            free(p);
            usleep(10 * 1000);
        }
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        const char *preload = getenv("LD_PRELOAD");
        printf("LD_PRELOAD=%s\n", preload ? preload : "<unset>");
        free(malloc(100));
        return 3;
    }
    char *total = malloc(1);
    total[0] = 0;
    for (int i = 1; i < argc; i++) {
        total = realloc(total, strlen(total) + strlen(argv[i]) + 2);
        strcat(total, argv[i]);
        strcat(total, ",");
    }
    for (int i = 0; i < 1000; i++) free(malloc((size_t)i * 10));
    printf("args: %s\n", total);
    /* With SWHEAP_INTERVAL=0 the shim starts no thread: a single-threaded program keeps
     * glibc's single-thread malloc paths. With periodic dumps its writer runs from start-up. */
    printf("single-threaded: %s\n", __libc_single_threaded ? "yes" : "no");
    fprintf(stderr, "to stderr\n");
    free(total);
    return 3;
}
