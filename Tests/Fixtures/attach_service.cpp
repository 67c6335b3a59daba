// A service for `swheap attach`: started without swheap, attached and detached while it runs.
// Two threads churn (malloc, calloc, realloc, posix_memalign, aligned_alloc, new/delete), a
// bounded cache replaces entries (blocks made before attach are freed while attached, blocks
// made while attached are freed after detach), a buffer grows by realloc, and site_leak leaks
// 512 bytes every iteration. Every block's contents are checked before it is freed, and the
// output depends only on the arguments: it must be the same with or without swheap.
//
//   attach_service ITERATIONS SLEEP_US [nodump] [sleeper] [fork] [tls:LIB...]
//     nodump: prctl(PR_SET_DUMPABLE, 0), so that ptrace is refused
//     sleeper: a third thread sleeping 1 s at a time (the injector then borrows it, and
//              follows its call to restore the sleep exactly)
//     fork: every 200 iterations a child allocates, checks and exits (_exit)
//     tls:LIB: dlopen LIB first (libraries with initial-exec TLS use up glibc's static TLS room)
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long corrupt;
static volatile int stopping;

static unsigned char pattern(unsigned long seed, size_t i) { return (unsigned char)(seed * 131 + i * 7 + 1); }

static void fill(void *p, size_t n, unsigned long seed) {
    for (size_t i = 0; i < n; i++) ((unsigned char *)p)[i] = pattern(seed, i);
}

static unsigned long check(const void *p, size_t n, unsigned long seed) {
    unsigned long sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = ((const unsigned char *)p)[i];
        if (b != pattern(seed, i)) __atomic_add_fetch(&corrupt, 1, __ATOMIC_RELAXED);
        sum = sum * 31 + b;
    }
    return sum;
}

// Opaque to the optimiser, so that malloc/free pairs are not elided.
__attribute__((noinline)) void *keep(void *p) {
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) unsigned long site_churn(unsigned long seed) {
    unsigned long sum = 0;
    for (int k = 0; k < 24; k++) {
        size_t n = 16 + (size_t)((seed + k) % 700);
        void *p = keep(malloc(n));
        fill(p, n, seed + k);
        if (k % 4 == 1) {
            size_t m = n * 2;
            p = keep(realloc(p, m));
            sum += check(p, n, seed + k);
            fill(p, m, seed + k);
            n = m;
        }
        sum += check(p, n, seed + k);
        free(p);
    }
    int *z = (int *)keep(calloc(64, sizeof(int)));
    for (int i = 0; i < 64; i++) sum += (unsigned long)z[i];
    free(z);
    void *a = NULL;
    if (posix_memalign(&a, 64, 256) == 0) {
        fill(a, 256, seed);
        sum += check(a, 256, seed) + ((uintptr_t)a & 63);
        free(a);
    }
    void *b = keep(aligned_alloc(32, 128));
    fill(b, 128, seed + 1);
    sum += check(b, 128, seed + 1) + ((uintptr_t)b & 31);
    free(b);
    char *c = new char[100 + seed % 50];
    fill(c, 100 + seed % 50, seed + 2);
    sum += check(c, 100 + seed % 50, seed + 2);
    delete[] c;
    return sum;
}

struct Entry {
    unsigned long seed;
    size_t n;
    char *bytes;
};
static Entry cache[256];

__attribute__((noinline)) char *site_cache_entry(size_t n) { return new char[n]; }

static unsigned long replace_cache(unsigned long i) {
    Entry &e = cache[i % 256];
    unsigned long sum = 0;
    if (e.bytes) {
        sum = check(e.bytes, e.n, e.seed);
        delete[] e.bytes;
    }
    e.seed = i;
    e.n = 64 + i % 200;
    e.bytes = site_cache_entry(e.n);
    fill(e.bytes, e.n, e.seed);
    return sum;
}

struct Leaked {
    Leaked *next;
    unsigned long seed;
};
static Leaked *leaked;

__attribute__((noinline)) void *site_leak(unsigned long seed) {
    Leaked *l = (Leaked *)malloc(512);
    fill(l + 1, 512 - sizeof *l, seed);
    l->seed = seed;
    l->next = leaked;
    leaked = l;
    return l;
}

static char *grown;
static size_t grown_size;

__attribute__((noinline)) void site_grow(unsigned long i) {
    size_t n = grown_size + 256;
    grown = (char *)realloc(grown, n);
    fill(grown + grown_size, 256, i);
    grown_size = n;
}

static void *worker(void *) {
    unsigned long seed = 1000000;
    while (!__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
        site_churn(seed++);
        struct timespec pause = {0, 300000};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void *sleeper(void *) {
    while (!__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
        struct timespec second = {1, 0};
        nanosleep(&second, NULL);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int iterations = argc > 1 ? atoi(argv[1]) : 1000;
    long sleep_us = argc > 2 ? atol(argv[2]) : 2000;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "nodump") == 0) prctl(PR_SET_DUMPABLE, 0);
        if (strncmp(argv[i], "tls:", 4) == 0 && !dlopen(argv[i] + 4, RTLD_NOW)) printf("dlopen failed: %s\n", dlerror());
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t t, s;
    bool sleeping = false, forking = false;
    for (int i = 3; i < argc; i++) sleeping |= strcmp(argv[i], "sleeper") == 0, forking |= strcmp(argv[i], "fork") == 0;
    pthread_create(&t, NULL, worker, NULL);
    if (sleeping) pthread_create(&s, NULL, sleeper, NULL);
    unsigned long sum = 0;
    for (int i = 0; i < iterations; i++) {
        sum = sum * 3 + site_churn((unsigned long)i);
        sum = sum * 3 + replace_cache((unsigned long)i);
        site_leak((unsigned long)i);
        if (i % 50 == 0) site_grow((unsigned long)i);
        if (forking && i % 200 == 100) {
            pid_t child = fork();
            if (child == 0) {
                unsigned long mine = 0;
                for (int k = 0; k < 50; k++) mine += site_churn((unsigned long)k);
                _exit(corrupt ? 1 : (int)(mine % 2) * 0);
            }
            int status = 0;
            waitpid(child, &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) printf("child %d failed\n", i);
        }
        if (i % 100 == 0) printf("iteration %d checksum %016lx\n", i, sum);
        struct timespec pause = {sleep_us / 1000000, (sleep_us % 1000000) * 1000};
        nanosleep(&pause, NULL);
    }
    __atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    if (sleeping) pthread_join(s, NULL);
    unsigned long leaks = 0;
    for (Leaked *l = leaked; l; l = l->next, leaks++) sum += check(l + 1, 512 - sizeof *l, l->seed);
    for (size_t at = 0, k = 0; at < grown_size; at += 256, k++) sum += check(grown + at, 256, k * 50);
    printf("done: %lu leaked, %zu grown, checksum %016lx, corrupt %lu\n", leaks, grown_size, sum, corrupt);
    return corrupt ? 1 : 0;
}
