/* A small server-like program for the swheap demo. Each "request" allocates transient
 * buffers (churn), goes through a bounded LRU-ish cache (plateaus), and one code path
 * forgets to release a session record (the real leak, growing without bound). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_SLOTS 512

struct session {
    char user[120];
    char payload[904];
};

static char *cache[CACHE_SLOTS];
static volatile size_t audited;

/* The bug: a session record is filled for auditing and then dropped without free. */
__attribute__((noinline)) static void remember_session(const char *user) {
    struct session *s = malloc(sizeof *s);
    snprintf(s->user, sizeof s->user, "%s", user);
    memset(s->payload, 'x', sizeof s->payload);
    audited += strlen(s->user);
}

/* A bounded cache: the oldest entry is freed when its slot is reused. */
__attribute__((noinline)) static const char *cache_lookup(unsigned key) {
    unsigned slot = key % CACHE_SLOTS;
    if (!cache[slot]) {
        cache[slot] = malloc(4096);
        snprintf(cache[slot], 4096, "value-%u", key);
    } else if (key % 7 == 0) { /* evict and refill */
        free(cache[slot]);
        cache[slot] = malloc(4096);
        snprintf(cache[slot], 4096, "value-%u", key);
    }
    return cache[slot];
}

/* Transient work: allocated and released within the request. */
__attribute__((noinline)) static size_t handle_request(unsigned id) {
    char *scratch = malloc(16384 + id % 4096);
    size_t n = (size_t)snprintf(scratch, 16384, "request %u %s", id, cache_lookup(id * 2654435761u));
    char *copy = strdup(scratch);
    n += strlen(copy);
    free(copy);
    free(scratch);
    if (id % 3 == 0) remember_session("user");
    return n;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 6;
    struct timespec start, now, pause = {0, 1000000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned id = 0;
    size_t work = 0;
    do {
        for (int i = 0; i < 20; i++) work += handle_request(id++);
        nanosleep(&pause, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    printf("demo: served %u requests (%zu bytes of responses)\n", id, work);
    return 0;
}
