/* A service-like program with known truth, sized relative to the sampling rate R (argv[3]),
 * for scripts/accuracy and its smoke test. Runs argv[1] epochs of argv[2] ms; argv[4] seeds
 * the order of the work within each epoch.
 *   leaks (pointers dropped, evenly over the run, 256-byte objects, so a leak of k·R bytes
 *   gives about k expected samples): leak_1x, leak_2x, leak_5x, leak_10x, leak_20x, leak_50x
 *   not leaks: churn (freed at once), cache_put (FIFO of 20·R, full after 4 epochs, then
 *   turning over), batch_fill (5·R per epoch, released every 3 epochs), startup_table
 *   (10·R at start, kept).
 *   structures, for the exit scan: rings of 8 nodes and lists of 4-19 nodes (64 bytes,
 *   malloc'ed, only their links written) dropped (ring_dropped, list_dropped, 10·R each
 *   over the run) and kept in tables whose old entries are freed (ring_kept, list_kept,
 *   about 5·R each at the end). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SITE __attribute__((noinline))
#define LEAK_OBJECT 256
#define CACHE_OBJECT 512

static volatile size_t sink;
static int epochs;
static double rate;

/* Objects due from a leak of `multiple`·R bytes by the end of `epoch` (1-based), minus
 * those already made: the total arrives evenly, whatever the rounding. */
static size_t due(double multiple, int epoch, size_t *made) {
    size_t total = (size_t)(multiple * rate / LEAK_OBJECT * epoch / epochs);
    size_t n = total > *made ? total - *made : 0;
    *made += n;
    return n;
}

/* Each leak allocates in its own function: sites are per function and line. */
#define LEAK_SITE(k)                                                                    \
    SITE void leak_##k##x(int epoch) {                                                  \
        static size_t made;                                                             \
        for (size_t i = 0, n = due(k, epoch, &made); i < n; i++) {                      \
            char *p = malloc(LEAK_OBJECT);                                              \
            p[0] = 1;                                                                   \
            sink += (size_t)p[0]; /* the pointer is dropped */                          \
        }                                                                               \
    }
LEAK_SITE(1)
LEAK_SITE(2)
LEAK_SITE(5)
LEAK_SITE(10)
LEAK_SITE(20)
LEAK_SITE(50)

static void **cache;
static size_t cache_capacity, cache_next;

SITE void cache_put(void) {
    for (size_t i = 0; i < cache_capacity / 4; i++) {
        size_t slot = cache_next++ % cache_capacity;
        free(cache[slot]); /* evict the oldest */
        cache[slot] = malloc(CACHE_OBJECT);
        memset(cache[slot], 0, 16);
    }
}

static void **batch;
static size_t batch_count;

SITE void batch_fill(int epoch) {
    size_t n = (size_t)(5 * rate / CACHE_OBJECT);
    for (size_t i = 0; i < n; i++) batch[batch_count++] = malloc(CACHE_OBJECT);
    if (epoch % 3 == 0) {
        /* Cleared as freed: a stale pointer past the count would still reach whatever reuses the
         * memory (a dropped structure's node), and LeakSanitizer's rules would call that node
         * referenced. The holder paths of the misses showed it. */
        while (batch_count) free(batch[--batch_count]), batch[batch_count] = NULL;
    }
}

/* The pointer itself is volatile: a global that is only written would be dropped by the
 * compiler, and the table would then really be unreferenced at exit (LSan agrees). */
static void **volatile table;

SITE void startup_table(void) {
    size_t n = (size_t)(10 * rate / LEAK_OBJECT);
    table = calloc(n, sizeof *table);
    for (size_t i = 0; i < n; i++) table[i] = malloc(LEAK_OBJECT);
}

/* Structures: nodes whose links alone are written, as real code leaves them. */
typedef struct node {
    struct node *next, *back;
    char payload[48];
} node;
#define NODE sizeof(node)

SITE node *ring_dropped_node(void) { return malloc(NODE); }
SITE node *ring_kept_node(void) { return malloc(NODE); }
SITE node *list_dropped_node(void) { return malloc(NODE); }
SITE node *list_kept_node(void) { return malloc(NODE); }

static node *make_ring(node *(*make)(void)) {
    node *first = make(), *n = first;
    first->back = NULL;
    for (int i = 1; i < 8; i++) n->next = make(), n->next->back = first, n = n->next;
    n->next = first;
    return first;
}

static node *make_list(node *(*make)(void), int k) {
    node *head = NULL;
    for (int i = 0; i < k; i++) {
        node *n = make();
        n->next = head, n->back = head;
        head = n;
    }
    return head;
}

static node *volatile *kept_rings, *volatile *kept_lists;
static size_t kept_slots;

SITE void structures(int epoch) {
    static size_t rings_made, lists_made;
    size_t rings = due(10.0 * LEAK_OBJECT / (8 * NODE), epoch, &rings_made);
    size_t lists = due(10.0 * LEAK_OBJECT / (12 * NODE), epoch, &lists_made);
    for (size_t i = 0; i < rings; i++) {
        node *volatile dropped = make_ring(ring_dropped_node);
        (void)dropped;
        size_t slot = (size_t)rand() % kept_slots;
        node *old = kept_rings[slot];
        if (old) {
            for (node *n = old->next, *next; n != old; n = next) next = n->next, free(n);
            free(old);
        }
        kept_rings[slot] = make_ring(ring_kept_node);
    }
    for (size_t i = 0; i < lists; i++) {
        node *volatile dropped = make_list(list_dropped_node, 4 + rand() % 16);
        (void)dropped;
        size_t slot = (size_t)rand() % kept_slots;
        for (node *n = kept_lists[slot], *next; n; n = next) next = n->next, free(n);
        kept_lists[slot] = make_list(list_kept_node, 4 + rand() % 16);
    }
}

SITE void churn(void) {
    for (int i = 0; i < 1000; i++) {
        char *p = malloc(128);
        p[0] = 3;
        sink += (size_t)p[0];
        free(p);
    }
}

static void pause_ms(int ms) {
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: accuracy EPOCHS EPOCH_MS RATE SEED\n");
        return 2;
    }
    epochs = atoi(argv[1]);
    int ms = atoi(argv[2]);
    rate = atof(argv[3]);
    srand((unsigned)strtoul(argv[4], NULL, 10));
    if (epochs < 1 || ms < 0 || rate < 1) {
        fprintf(stderr, "accuracy: bad arguments\n");
        return 2;
    }
    cache_capacity = (size_t)(20 * rate / CACHE_OBJECT);
    if (cache_capacity < 4) cache_capacity = 4;
    cache = calloc(cache_capacity, sizeof *cache);
    batch = calloc((size_t)(15 * rate / CACHE_OBJECT) + 3, sizeof *batch);
    startup_table();
    kept_slots = (size_t)(10 * rate / (12 * NODE)) + 1;
    kept_rings = calloc(kept_slots, sizeof *kept_rings);
    kept_lists = calloc(kept_slots, sizeof *kept_lists);
    for (int e = 1; e <= epochs; e++) {
        /* The seed shuffles the order of the work within the epoch. */
        int order[10];
        for (int i = 0; i < 10; i++) order[i] = i;
        for (int i = 9; i > 0; i--) {
            int j = rand() % (i + 1), t = order[i];
            order[i] = order[j]; order[j] = t;
        }
        for (int i = 0; i < 10; i++) {
            switch (order[i]) {
            case 0: leak_1x(e); break;
            case 1: leak_2x(e); break;
            case 2: leak_5x(e); break;
            case 3: leak_10x(e); break;
            case 4: leak_20x(e); break;
            case 5: leak_50x(e); break;
            case 6: cache_put(); break;
            case 7: batch_fill(e); break;
            case 8: churn(); break;
            case 9: structures(e); break;
            default: break;
            }
        }
        pause_ms(ms);
    }
    printf("accuracy: %d epochs\n", epochs);
    return 0;
}
