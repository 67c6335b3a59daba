/* A server whose every allocation goes through its own wrappers, as a key-value store's does:
 * zmalloc (an accounting header before each block, out-of-memory handling) and zstrdup over
 * it, each a separate non-inlined function. Run for argv[1] steps of argv[2] ms:
 *   leak:      createClient (connections accepted and never closed: a client and its name
 *              per connection, kept on a list)
 *   not leaks: processBatch (a large batch filled and released every 5 steps: sawtooth, and
 *              most of what zmalloc holds), setKey (a bounded keyspace, old values replaced:
 *              churn), logLine (freed at once), loadConfig (once, at start).
 * Through zmalloc as a whole the heap is a sawtooth; the leak is only seen per caller. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))
#define KEYS 256

static size_t used_memory;

NOINLINE void *zmalloc(size_t size) {
    size_t *block = malloc(sizeof(size_t) + size);
    if (!block) {
        fprintf(stderr, "zmalloc: out of memory allocating %zu bytes\n", size);
        abort();
    }
    *block = size;
    used_memory += size;
    return block + 1;
}

NOINLINE void zfree(void *ptr) {
    if (!ptr) return;
    size_t *block = (size_t *)ptr - 1;
    used_memory -= *block;
    free(block);
}

NOINLINE char *zstrdup(const char *text) {
    size_t length = strlen(text) + 1;
    char *copy = zmalloc(length);
    memcpy(copy, text, length);
    return copy;
}

typedef struct client {
    int fd;
    char *name;
    char querybuf[1000];
    struct client *next;
} client;

static client *clients;
static char *config[4];
static void *batch[16 * 5];
static int batch_count;
static char *keys[KEYS];
static char *values[KEYS];
static unsigned next_key;
static volatile size_t sink;

NOINLINE client *createClient(int fd) {
    client *c = zmalloc(sizeof *c);
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->name = zstrdup("client-connection-name");
    c->next = clients; /* never closed: the list only grows */
    clients = c;
    return c;
}

NOINLINE void processBatch(int step) {
    for (int i = 0; i < 16; i++) {
        batch[batch_count] = zmalloc(4096);
        memset(batch[batch_count++], 1, 64);
    }
    if (step % 5 == 4) {
        while (batch_count) zfree(batch[--batch_count]);
    }
}

NOINLINE void setKey(unsigned n) {
    unsigned slot = next_key++ % KEYS;
    char name[32];
    snprintf(name, sizeof name, "key:%u", n);
    zfree(keys[slot]);
    zfree(values[slot]);
    keys[slot] = zstrdup(name);
    values[slot] = zmalloc(512);
}

NOINLINE void logLine(int step) {
    char *line = zstrdup(step % 2 ? "served a request" : "served another request");
    sink += strlen(line);
    zfree(line);
}

NOINLINE void loadConfig(void) {
    config[0] = zstrdup("bind 127.0.0.1");
    config[1] = zstrdup("port 6379");
    config[2] = zmalloc(8192);
    memset(config[2], 0, 8192);
}

static void pause_ms(int ms) {
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 40, ms = argc > 2 ? atoi(argv[2]) : 25;
    loadConfig();
    for (int step = 0; step < steps; step++) {
        for (int i = 0; i < 2; i++) createClient(step * 2 + i);
        processBatch(step);
        for (int i = 0; i < 32; i++) setKey((unsigned)(step * 32 + i));
        logLine(step);
        pause_ms(ms);
    }
    printf("in use: %zu bytes\n", used_memory);
    return 0;
}
