/* A root master whose forked workers drop privileges, as a web server's or a cache's do
 * ("user nobody"): each worker calls setgroups, setgid and setuid to the uid given on the
 * command line (gid 65534), checks that it took, then leaks one block per step. The master
 * keeps a small table and waits for them. Must be started as root.
 *   privdrop STEPS UID...   (one worker per UID) */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SITE __attribute__((noinline))
static void *kept[4096];

SITE void *site_master_table(void) { return malloc(256); }
SITE void *site_worker_leak(void) { return malloc(2048); }
SITE void *site_worker_request(void) { return malloc(512); }

static int worker(int steps, uid_t uid) {
    if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(uid) != 0) {
        perror("privdrop: dropping privileges");
        return 3;
    }
    if (getuid() != uid || geteuid() != uid) return 4;
    for (int i = 0; i < steps && i < 4096; i++) {
        kept[i] = site_worker_leak();      /* never freed */
        free(site_worker_request());       /* served and released */
        usleep(10 * 1000);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: privdrop STEPS UID...\n");
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "privdrop: must be started as root\n");
        return 2;
    }
    int steps = atoi(argv[1]);
    for (int i = 0; i < 16; i++) kept[i] = site_master_table();
    fflush(stdout);
    int workers = argc - 2;
    pid_t pids[64];
    for (int w = 0; w < workers && w < 64; w++) {
        pids[w] = fork();
        if (pids[w] == 0) exit(worker(steps, (uid_t)strtoul(argv[2 + w], NULL, 10)));
    }
    int failed = 0;
    for (int w = 0; w < workers && w < 64; w++) {
        int status = 0;
        waitpid(pids[w], &status, 0);
        printf("privdrop: worker %d (uid %s) exited %d\n", (int)pids[w], argv[2 + w], WEXITSTATUS(status));
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    return failed;
}
