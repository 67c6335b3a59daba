/* fork while other threads allocate, then many forks in a row: every child allocates,
 * frees and exits with a known status; the parent prints each status. A fork that copies
 * a held lock into the child would hang here (the runner's timeout catches it). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int stop;

static void *churn(void *arg) {
    (void)arg;
    void *kept[64] = {0};
    for (unsigned i = 0; !atomic_load(&stop); i++) {
        free(kept[i % 64]);
        kept[i % 64] = malloc(8 + i % 3000);
    }
    for (int i = 0; i < 64; i++) free(kept[i]);
    return NULL;
}

static int child_work(int k) {
    void *p[100];
    for (int i = 0; i < 100; i++) p[i] = malloc((size_t)(i + 1) * 24);
    for (int i = 0; i < 100; i++) free(p[i]);
    return k % 50;
}

int main(void) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, churn, NULL);
    int sum = 0;
    for (int k = 0; k < 60; k++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) exit(child_work(k)); /* exit: the child's destructors run too */
        int status = 0;
        waitpid(pid, &status, 0);
        sum += WIFEXITED(status) ? WEXITSTATUS(status) : 1000;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    printf("children %d sum %d\n", 60, sum);
    return 0;
}
