/* LeakSanitizer's test categories, one case per run (argv[1]), one site per verdict: the
 * integration tests run each case under swheap and, built with -fsanitize=leak, under
 * LeakSanitizer, and require both to class every site_* alike.
 *   callee [_exit|quick_exit]  a block dropped by a callee of main (its dead frame still
 *               holds it); the process ends by exit, or by the function named
 *   last R      dropped blocks of size 96 + R, the last one right before glibc's top
 *   joined      blocks a thread dropped (stack and TLS) before it was joined
 *   kept        blocks kept by a global, main's static TLS, a pthread key (second-level
 *               block), an interior pointer; a self-pointer and a 2-cycle dropped
 *   dynamic-tls PATH: a block kept by the dynamic TLS of a dlopen'ed module (PATH)
 *   threads     blocks kept by another live thread's stack and by its registers
 *   structures  rings, a list and a tree, each dropped and kept, big enough for the
 *               default rate to sample many of their objects
 *   unstoppable a thread blocking every signal and never sleeping (the scan must fall back,
 *               not hang); one blocking every signal asleep in a system call is fine
 *   service SEED  requests of a service: rings and lists dropped, kept in tables whose old
 *               entries are freed, uninitialised buffers kept, short-lived churn; glibc's
 *               free lists leave stale pointers to chunk headers in never-written words */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE __attribute__((noinline))
#define N 16

void *volatile global_roots[N];
void *volatile interior_roots[N];
static __thread void *volatile tls_roots[N];

SITE void *site_callee_dropped(void) { return malloc(48); }
SITE void *site_last(size_t size) { return malloc(size); }
SITE void *site_thread_stack_dropped(void) { return malloc(56); }
SITE void *site_thread_tls_dropped(void) { return malloc(64); }
SITE void *site_global(void) { return malloc(72); }
SITE void *site_static_tls(void) { return malloc(80); }
SITE void *site_pthread_key(void) { return malloc(88); }
SITE void *site_interior(void) { return malloc(96); }
SITE void *site_self(void) { return malloc(104); }
SITE void *site_cycle(void) { return malloc(112); }
SITE void *site_live_stack(void) { return malloc(120); }
SITE void *site_register(void) { return malloc(128); }

/* Overwrites the dead part of the stack below the caller, as a real program's later calls
 * would, so no stale copy of a dropped pointer survives there by accident. */
SITE static void scrub_stack(void) {
    volatile char junk[32 * 1024];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = 0;
}

SITE static void drop_in_callee(void) {
    for (int i = 0; i < N; i++) {
        void *volatile p = site_callee_dropped();
        (void)p;
    }
}

static void *drop_and_end(void *unused) {
    (void)unused;
    for (int i = 0; i < N; i++) {
        void *volatile p = site_thread_stack_dropped();
        (void)p;
        tls_roots[i] = site_thread_tls_dropped(); /* this thread's TLS dies with it */
    }
    return NULL;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready;

static void signal_ready(void) {
    pthread_mutex_lock(&lock);
    ready++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static void wait_ready(int count) {
    pthread_mutex_lock(&lock);
    while (ready < count) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
}

static void *hold_on_stack(void *unused) {
    (void)unused;
    void *volatile mine[N];
    for (int i = 0; i < N; i++) mine[i] = site_live_stack();
    signal_ready();
    for (;;) pause();
    return (void *)mine[0];
}

#if defined(__x86_64__)
/* The block lives in r12-r15 only: every copy on the stack is overwritten. */
static void *hold_in_registers(void *unused) {
    (void)unused;
    register void *a __asm__("r12") = site_register();
    register void *b __asm__("r13") = site_register();
    register void *c __asm__("r14") = site_register();
    register void *d __asm__("r15") = site_register();
    __asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d));
    scrub_stack();
    __asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d));
    signal_ready();
    for (;;) __asm__ volatile("pause" : "+r"(a), "+r"(b), "+r"(c), "+r"(d));
    return NULL;
}
#endif

static void *block_signals(void *unused) {
    (void)unused;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL);
    signal_ready();
    for (;;) sched_yield(); /* running, never in a system call for long */
    return NULL;
}

static void case_kept(void) {
    pthread_key_t keys[40];
    for (int i = 0; i < 40; i++) pthread_key_create(&keys[i], NULL);
    for (int i = 0; i < N; i++) {
        global_roots[i] = site_global();
        tls_roots[i] = site_static_tls();
        interior_roots[i] = (char *)site_interior() + 40;
    }
    pthread_setspecific(keys[39], site_pthread_key()); /* key 39: in a malloc'ed second-level block */
}

SITE static void drop_self_and_cycles(void) {
    for (int i = 0; i < N; i++) {
        void **self = site_self();
        self[0] = self;
        void **a = site_cycle(), **b = site_cycle();
        a[0] = b, b[0] = a;
    }
}

/* Structures: nodes of 64 bytes, the first word the link. */
enum { RINGS = 40000, RING = 8, LIST = 400000, TREE_DEPTH = 17 };
typedef struct node {
    struct node *next, *left, *right;
    char pad[40];
} node;

SITE node *site_ring_dropped(void) { return calloc(1, sizeof(node)); }
SITE node *site_ring_kept(void) { return calloc(1, sizeof(node)); }
SITE node *site_list_dropped(void) { return calloc(1, sizeof(node)); }
SITE node *site_list_kept(void) { return calloc(1, sizeof(node)); }
SITE node *site_tree_dropped(void) { return calloc(1, sizeof(node)); }
SITE node *site_tree_kept(void) { return calloc(1, sizeof(node)); }

static node *ring(node *(*make)(void)) {
    node *first = make(), *n = first;
    for (int i = 1; i < RING; i++) n = n->next = make();
    n->next = first;
    return first;
}

static node *list(node *(*make)(void)) {
    node *head = NULL;
    for (int i = 0; i < LIST; i++) {
        node *n = make();
        n->next = head;
        head = n;
    }
    return head;
}

static node *tree(node *(*make)(void), int depth) {
    node *n = make();
    if (depth > 1) n->left = tree(make, depth - 1), n->right = tree(make, depth - 1);
    return n;
}

/* The service: nodes are malloc'ed and only partly written, as real code does. */
SITE node *site_service_ring_dropped(void) { return malloc(sizeof(node)); }
SITE node *site_service_ring_kept(void) { return malloc(sizeof(node)); }
SITE node *site_service_list_dropped(void) { return malloc(sizeof(node)); }
SITE node *site_service_list_kept(void) { return malloc(sizeof(node)); }
SITE void *site_service_buffer(size_t n) { return malloc(n); }
SITE void *site_service_churn(size_t n) { return malloc(n); }

static node *partial_ring(node *(*make)(void), int k) {
    node *first = make(), *n = first;
    first->left = NULL;
    for (int i = 1; i < k; i++) n->next = make(), n->next->left = first, n = n->next;
    n->next = first;
    return first;
}

static node *partial_list(node *(*make)(void), int k) {
    node *head = NULL;
    for (int i = 0; i < k; i++) {
        node *n = make();
        n->next = head, n->left = head;
        head = n;
    }
    return head;
}

static unsigned long long service_rng;
static unsigned service_random(void) {
    service_rng ^= service_rng << 13, service_rng ^= service_rng >> 7, service_rng ^= service_rng << 17;
    return (unsigned)service_rng;
}

enum { SERVICE_REQUESTS = 100000, SERVICE_SLOTS = 8192 };
node *volatile service_rings[SERVICE_SLOTS], *volatile service_lists[SERVICE_SLOTS];
void *volatile service_buffers[SERVICE_SLOTS];

SITE static void case_service(unsigned long long seed) {
    service_rng = 88172645463325252ull + seed;
    for (int i = 0; i < SERVICE_REQUESTS; i++) {
        unsigned what = service_random() % 10, slot = service_random() % SERVICE_SLOTS;
        void *churn[8];
        for (int j = 0; j < 8; j++) churn[j] = site_service_churn(16 + service_random() % 512);
        if (what == 0) {
            node *volatile dropped = partial_ring(site_service_ring_dropped, RING);
            (void)dropped;
        } else if (what == 1) {
            node *volatile dropped = partial_list(site_service_list_dropped, 4 + (int)(service_random() % 16));
            (void)dropped;
        } else if (what < 5) {
            node *old = service_rings[slot];
            if (old) {
                for (node *n = old->next, *next; n != old; n = next) next = n->next, free(n);
                free(old);
            }
            service_rings[slot] = partial_ring(site_service_ring_kept, RING);
        } else if (what < 8) {
            for (node *n = service_lists[slot], *next; n; n = next) next = n->next, free(n);
            service_lists[slot] = partial_list(site_service_list_kept, 4 + (int)(service_random() % 16));
        } else {
            free(service_buffers[slot]);
            service_buffers[slot] = site_service_buffer(64 + service_random() % 2048); /* never written */
        }
        for (int j = 0; j < 8; j++) free(churn[j]);
    }
}

node *volatile kept_rings[RINGS];
node *volatile kept_list, *volatile kept_tree;

SITE static void case_structures(void) {
    for (int i = 0; i < RINGS; i++) {
        node *volatile dropped = ring(site_ring_dropped);
        (void)dropped;
        kept_rings[i] = ring(site_ring_kept);
    }
    node *volatile dropped = list(site_list_dropped);
    kept_list = list(site_list_kept);
    dropped = tree(site_tree_dropped, TREE_DEPTH);
    kept_tree = tree(site_tree_kept, TREE_DEPTH);
    dropped = NULL;
}

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "callee") == 0) {
        drop_in_callee();
    } else if (strcmp(what, "last") == 0 && argc > 2) {
        void *volatile p = site_last(96 + (size_t)atoi(argv[2]));
        p = NULL;
    } else if (strcmp(what, "joined") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, drop_and_end, NULL);
        pthread_join(t, NULL);
    } else if (strcmp(what, "kept") == 0) {
        case_kept();
        drop_self_and_cycles();
    } else if (strcmp(what, "dynamic-tls") == 0 && argc > 2) {
        void *module = dlopen(argv[2], RTLD_NOW);
        void *(*hold)(void *(*)(void)) = module ? (void *(*)(void *(*)(void)))dlsym(module, "hold_in_dynamic_tls") : NULL;
        if (!hold) {
            fprintf(stderr, "exit_verdicts: cannot load %s\n", argv[2]);
            return 2;
        }
        hold(site_global);
    } else if (strcmp(what, "threads") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, hold_on_stack, NULL);
#if defined(__x86_64__)
        pthread_create(&t, NULL, hold_in_registers, NULL);
        wait_ready(2);
#else
        wait_ready(1);
#endif
    } else if (strcmp(what, "unstoppable") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, block_signals, NULL);
        wait_ready(1);
        global_roots[0] = site_global();
    } else if (strcmp(what, "structures") == 0) {
        case_structures();
    } else if (strcmp(what, "service") == 0 && argc > 2) {
        case_service(strtoull(argv[2], NULL, 10));
    } else {
        fprintf(stderr, "usage: exit_verdicts callee [_exit|quick_exit]|last R|joined|kept|dynamic-tls PATH|threads|structures|service SEED|unstoppable\n");
        return 2;
    }
    /* callee keeps its dead frames as they are: the scan must not read below exit's caller */
    if (strcmp(what, "callee") != 0) scrub_stack();
    printf("exit_verdicts: %s done\n", what);
    fflush(stdout);
    if (strcmp(what, "callee") == 0 && argc > 2 && strcmp(argv[2], "_exit") == 0) _exit(0);
    if (strcmp(what, "callee") == 0 && argc > 2 && strcmp(argv[2], "quick_exit") == 0) quick_exit(0);
    exit(0);
}
