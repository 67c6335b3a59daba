/* What LeakSanitizer would call leaked or reachable, one site per case:
 * reachable through a global, another thread's stack, thread-local storage, a pointer into
 * the middle, and through another heap object; leaked when dropped, when it only points to
 * itself, and when two dropped objects point to each other. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SITE __attribute__((noinline))
#define N 20

void *volatile global_roots[N];
void *volatile middle_roots[N];
static __thread void *volatile tls_roots[N];
static void *volatile holder;

SITE void *site_global(void) { return malloc(64); }
SITE void *site_thread_stack(void) { return malloc(72); }
SITE void *site_tls(void) { return malloc(80); }
SITE void *site_middle(void) { return malloc(88); }
SITE void *site_via_heap(void) { return malloc(96); }
SITE void *site_holder(void) { return malloc(N * sizeof(void *)); }
SITE void *site_dropped(void) { return malloc(104); }
SITE void *site_self(void) { return malloc(112); }
SITE void *site_cycle(void) { return malloc(120); }

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready;

static void *hold_on_stack(void *unused) {
    (void)unused;
    void *volatile mine[N];
    for (int i = 0; i < N; i++) mine[i] = site_thread_stack();
    for (int i = 0; i < N; i++) tls_roots[i] = site_tls();
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    for (;;) pause(); /* still holding its stack and TLS at exit */
    return (void *)mine;
}

SITE static void drop_some(void) {
    for (int i = 0; i < N; i++) {
        void *volatile p = site_dropped();
        (void)p;
        void **self = site_self();
        self[0] = self; /* only points to itself */
        void **a = site_cycle(), **b = site_cycle();
        a[0] = b, b[0] = a; /* a cycle nothing else reaches */
    }
}

/* Overwrites the dead part of the stack below us so no stale copy of a dropped pointer
 * survives in it, as a real program's later calls would. */
SITE static void scrub_stack(void) {
    volatile char junk[64 * 1024];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = 0;
}

int main(void) {
    for (int i = 0; i < N; i++) global_roots[i] = site_global();
    for (int i = 0; i < N; i++) middle_roots[i] = (char *)site_middle() + 40;
    void **h = site_holder();
    for (int i = 0; i < N; i++) h[i] = site_via_heap();
    holder = h;
    drop_some();
    scrub_stack();
    pthread_t t;
    pthread_create(&t, NULL, hold_on_stack, NULL);
    pthread_mutex_lock(&lock);
    while (!ready) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    printf("references: ready\n");
    exit(0); /* the other thread is still running, holding its pointers */
}
