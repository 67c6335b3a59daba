/* Threads that pile up, and threads that do not (ThreadCensusTests).
 *
 *   threads_pileup pileup TICKS   per tick: one request thread that blocks forever
 *                                 (site_serve_request), one joinable task that returns and is
 *                                 never joined (site_start_task, 256 KiB stacks); a pool of
 *                                 POOL workers filled over the first ticks and kept
 *                                 (site_start_pool); short detached threads (site_fire_and_forget)
 *                                 a thread cancelled while blocked, then joined (site_cancelled);
 *                                 and one pthread_create that fails (site_create_fails: EAGAIN)
 *   threads_pileup fork           3 blocked threads (site_serve_request), then a forked child
 *                                 that starts one never-joined task (site_start_task) and exits
 *   threads_pileup short N        N short threads, each created and joined (site_short_task),
 *                                 printing the process's RSS after 1,000 and after N
 *
 * Each prints what it knows of its own threads ("expect <site> running=R exited_unjoined=U
 * gone=G stack_bytes=B"), which the test compares with the census. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SITE __attribute__((noinline))
#define POOL 4
#define TASK_STACK (256 * 1024)

static sem_t never; /* nobody posts it */
static sem_t done_tasks;

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0) {
    }
}

static size_t default_mapping(void) {
    pthread_attr_t a;
    size_t size = 0, guard = 0;
    pthread_attr_init(&a);
    pthread_attr_getstacksize(&a, &size);
    pthread_attr_getguardsize(&a, &guard);
    pthread_attr_destroy(&a);
    return size + guard;
}

static void *block_forever(void *arg) {
    (void)arg;
    for (;;) sem_wait(&never);
    return NULL;
}

static void *work_and_return(void *arg) {
    (void)arg;
    free(malloc(100));
    sem_post(&done_tasks);
    return NULL;
}

/* Ends by pthread_exit from a nested call, not by returning. */
SITE static void leave_early(void) { pthread_exit(NULL); }

static void *short_detached(void *arg) {
    (void)arg;
    leave_early();
    return NULL;
}

static void *short_joined(void *arg) { return arg; }

SITE void site_serve_request(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, block_forever, NULL) != 0) abort();
    pthread_detach(t); /* detached: running forever all the same */
}

SITE void site_start_task(size_t *guard_out) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, TASK_STACK);
    pthread_attr_getguardsize(&a, guard_out);
    pthread_t t;
    if (pthread_create(&t, &a, work_and_return, NULL) != 0) abort();
    pthread_attr_destroy(&a);
    /* never joined, never detached */
}

SITE void site_start_pool(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, block_forever, NULL) != 0) abort();
}

SITE void site_fire_and_forget(void) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    if (pthread_create(&t, &a, short_detached, NULL) != 0) abort();
    pthread_attr_destroy(&a);
}

/* Blocked in sem_wait (a cancellation point), cancelled, joined: gone. */
SITE void site_cancelled(void) {
    pthread_t t;
    void *result = NULL;
    if (pthread_create(&t, NULL, block_forever, NULL) != 0) abort();
    pthread_cancel(t);
    if (pthread_join(t, &result) != 0 || result != PTHREAD_CANCELED) abort();
}

/* A stack no address space can hold: the thread library's mmap fails, pthread_create says EAGAIN. */
SITE int site_create_fails(void) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, (size_t)1 << 50);
    pthread_t t;
    int r = pthread_create(&t, &a, short_joined, NULL);
    pthread_attr_destroy(&a);
    return r;
}

SITE void site_short_task(long i) {
    pthread_t t;
    void *r;
    if (pthread_create(&t, NULL, short_joined, (void *)i) != 0 || pthread_join(t, &r) != 0 || r != (void *)i) abort();
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kib = atol(line + 6);
    if (f) fclose(f);
    return kib;
}

static void expect(const char *site, long running, long unjoined, long gone, size_t bytes) {
    printf("expect %s running=%ld exited_unjoined=%ld gone=%ld stack_bytes=%zu\n", site, running, unjoined, gone, bytes);
}

static int pileup(int ticks) {
    size_t guard = 0;
    int pool = 0;
    for (int tick = 0; tick < ticks; tick++) {
        site_serve_request();
        site_start_task(&guard);
        sem_wait(&done_tasks);
        if (pool < POOL) { /* filled over the first ticks, then kept */
            site_start_pool();
            pool++;
        }
        site_fire_and_forget();
        site_cancelled();
        sleep_ms(60);
    }
    int failed = site_create_fails();
    printf("create_fails=%s\n", failed == EAGAIN ? "EAGAIN" : failed == 0 ? "0" : "other");
    sleep_ms(60); /* the last task and detached thread have ended */
    size_t mapping = default_mapping();
    expect("site_serve_request", ticks, 0, 0, (size_t)ticks * mapping);
    expect("site_start_task", 0, ticks, 0, (size_t)ticks * (TASK_STACK + guard));
    expect("site_start_pool", pool, 0, 0, (size_t)pool * mapping);
    expect("site_fire_and_forget", 0, 0, ticks, 0);
    expect("site_cancelled", 0, 0, ticks, 0);
    fflush(stdout);
    return 0;
}

static int forking(void) {
    for (int i = 0; i < 3; i++) site_serve_request();
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        size_t guard = 0;
        site_start_task(&guard);
        sem_wait(&done_tasks);
        sleep_ms(100);
        expect("child:site_start_task", 0, 1, 0, TASK_STACK + guard);
        fflush(stdout);
        return 0;
    }
    int status = 0;
    waitpid(child, &status, 0);
    expect("parent:site_serve_request", 3, 0, 0, 3 * default_mapping());
    fflush(stdout);
    return status;
}

static int short_threads(long n) {
    long early = 0;
    for (long i = 0; i < n; i++) {
        site_short_task(i);
        if (i == 999) early = rss_kib();
    }
    printf("rss_kib after=1000 %ld after=%ld %ld\n", early, n, rss_kib());
    expect("site_short_task", 0, 0, n, 0);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    sem_init(&never, 0, 0);
    sem_init(&done_tasks, 0, 0);
    if (argc == 3 && strcmp(argv[1], "pileup") == 0) return pileup(atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "short") == 0) return short_threads(atol(argv[2]));
    if (argc == 2 && strcmp(argv[1], "fork") == 0) return forking();
    fprintf(stderr, "usage: threads_pileup pileup TICKS | fork | short N\n");
    return 2;
}
