/* Cross-thread frees under concurrency: each thread allocates a batch, then a different
 * thread frees it (keeping every tenth object) while churning transient allocations. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define SITE __attribute__((noinline))
#define THREADS 4
#define PER_THREAD 20000

static void *batches[THREADS][PER_THREAD];

SITE void *site_thread_alloc(size_t n) { return malloc(n); }
SITE void *site_transient(size_t n) { return malloc(n); }

static size_t size_of(int i) { return (size_t)(i % 7 + 1) * 16; }

static void *produce(void *arg) {
    int t = (int)(long)arg;
    for (int i = 0; i < PER_THREAD; i++) batches[t][i] = site_thread_alloc(size_of(i));
    return NULL;
}

static void *consume(void *arg) {
    int t = ((int)(long)arg + 1) % THREADS; /* someone else's batch */
    for (int i = 0; i < PER_THREAD; i++) {
        if (i % 10 != 0) free(batches[t][i]);
        free(site_transient(24));
    }
    return NULL;
}

int main(void) {
    pthread_t th[THREADS];
    for (long t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, produce, (void *)t);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    for (long t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, consume, (void *)t);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    printf("threads: done\n");
    return 0;
}
