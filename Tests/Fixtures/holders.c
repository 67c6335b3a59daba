/* Who holds each block, and findings grouped by the heap rather than by the caller, at exit.
 * Each of STEPS requests (handle_request):
 *   - leak_dropped: a 256-byte block whose pointer is dropped;
 *   - grow_index: a global array grown by realloc, one entry at a time;
 *   - build_dropped_list: a list of a head (site_list_head) and 3 nodes (site_list_node),
 *     dropped whole;
 *   - register_session: a block (site_session) put in the global registry's array;
 * and each admin request (handle_admin, another caller) register_stream: a block
 * (site_stream) put in the same registry array. And once:
 *   - site_cached blocks in a table reached from the global cache_table;
 *   - in a worker thread, a site_scratch block held only by the thread-local request_scratch,
 *     a site_keyed block held only as the worker's value of a pthread key, a site_far_keyed
 *     block as its value of a key above 31 (glibc keeps those in a block of its own), and a
 *     site_on_stack block held only by a local of hold_on_stack's frame.
 * So: site_cached is held by global cache_table through one block; site_scratch by the
 * thread-local request_scratch; site_keyed and site_far_keyed by their keys (printed at the
 * end: "key N far M");
 * site_on_stack by the worker's stack in hold_on_stack; the
 * list's head and nodes form one unreferenced structure; session and stream share one owner
 * (the registry array); the dropped block and the index share only their caller.
 *
 *   holders STEPS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CACHED = 8, REGISTRY = 4096 };

struct node {
    struct node *next;
    char payload[40];
};

void **cache_table;
__thread void *request_scratch; /* not static: the store must stay */
static void **registry;
static size_t registered;
static void **index_entries;
static size_t indexed;
static volatile unsigned long sink;
static volatile int worker_ready;
static pthread_key_t session_key, far_key;

__attribute__((noinline)) static void *keep(void *p) {
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) static void *site_cached(void) { return memset(keep(malloc(96)), 1, 96); }

__attribute__((noinline)) static void make_cache_table(void) {
    cache_table = keep(calloc(CACHED, sizeof *cache_table));
    for (int i = 0; i < CACHED; i++) cache_table[i] = site_cached();
}

__attribute__((noinline)) static void leak_dropped(void) {
    char *p = keep(malloc(256));
    memset(p, 2, 256);
    sink += (unsigned long)p * 7; /* scrambled: no word points at the block */
}

__attribute__((noinline)) static void grow_index(void) {
    index_entries = keep(realloc(index_entries, (indexed + 1) * sizeof *index_entries));
    index_entries[indexed++] = NULL;
}

__attribute__((noinline)) static struct node *site_list_node(struct node *next) {
    struct node *n = keep(malloc(sizeof *n));
    memset(n->payload, 3, sizeof n->payload);
    n->next = next;
    return n;
}

__attribute__((noinline)) static struct node *site_list_head(struct node *first) {
    struct node *h = keep(malloc(sizeof *h));
    memset(h->payload, 4, sizeof h->payload);
    h->next = first;
    return h;
}

__attribute__((noinline)) static void build_dropped_list(void) {
    struct node *list = NULL;
    for (int i = 0; i < 3; i++) list = site_list_node(list);
    struct node *head = site_list_head(list);
    sink += (unsigned long)head * 7;
}

__attribute__((noinline)) static void *site_session(void) { return memset(keep(malloc(128)), 5, 128); }
__attribute__((noinline)) static void *site_stream(void) { return memset(keep(malloc(160)), 6, 160); }

__attribute__((noinline)) static void register_session(void) {
    if (registered < REGISTRY) registry[registered++] = site_session();
}

__attribute__((noinline)) static void register_stream(void) {
    if (registered < REGISTRY) registry[registered++] = site_stream();
}

__attribute__((noinline)) static void handle_request(void) {
    leak_dropped();
    grow_index();
    build_dropped_list();
    register_session();
}

__attribute__((noinline)) static void handle_admin(void) { register_stream(); }

static void pause_ms(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

__attribute__((noinline)) static void *site_scratch(void) { return memset(keep(malloc(200)), 7, 200); }
__attribute__((noinline)) static void *site_on_stack(void) { return memset(keep(malloc(240)), 8, 240); }

__attribute__((noinline)) static void *site_keyed(void) { return memset(keep(malloc(176)), 9, 176); }

__attribute__((noinline)) static void *site_far_keyed(void) { return memset(keep(malloc(184)), 10, 184); }

__attribute__((noinline)) static void set_scratch(void) {
    request_scratch = site_scratch();
    pthread_setspecific(session_key, site_keyed());
    pthread_setspecific(far_key, site_far_keyed());
}

/* Overwrites the stack below the caller's frame: no stale copy of a pointer stays there. */
__attribute__((noinline)) static void scrub_stack(void) {
    volatile char area[4096];
    memset((char *)area, 0, sizeof area);
}

__attribute__((noinline)) static void hold_on_stack(void) {
    void *volatile held = site_on_stack();
    worker_ready = 1;
    for (;;) {
        pause_ms(5);
        sink += *(volatile char *)held;
    }
}

static void *worker(void *unused) {
    (void)unused;
    set_scratch();
    scrub_stack();
    hold_on_stack();
    return NULL;
}

__attribute__((noinline)) static void run(int steps) {
    registry = keep(calloc(REGISTRY, sizeof *registry));
    pthread_key_create(&session_key, NULL);
    for (far_key = 0; far_key < 40;) pthread_key_create(&far_key, NULL); /* past the first 32 */
    make_cache_table();
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    /* The worker first: waiting for it after the requests would end the run on a flat stretch,
     * and the sites that grow would look levelled off. */
    while (!worker_ready) pause_ms(1);
    for (int i = 0; i < steps; i++) {
        handle_request();
        if (i % 2 == 0) handle_admin();
        if (i % 10 == 0) pause_ms(5);
    }
    scrub_stack();
}

int main(int argc, char **argv) {
    run(argc > 1 ? atoi(argv[1]) : 400);
    printf("done %zu %zu key %u far %u\n", registered, indexed, (unsigned)session_key, (unsigned)far_key);
    exit(0);
}
