/* The memory pictures of issue 20: RSS that the sampled heap does not explain, and RSS that it
 * does. Each mode builds its picture, prints what the allocator itself says, then stays for
 * SECONDS while the shim's writer takes its dumps, prints the figures again and exits. The
 * figures are the allocator's own, through its own API (found with dlsym, as a program would):
 * jemalloc's mallctl, tcmalloc's MallocExtension, mimalloc's mi_process_info, else glibc's
 * mallinfo2 and malloc_info's arena count.
 *   memory retention [SECONDS]  4 threads each allocate 32 MiB of 1 KiB blocks and free all but
 *                               every 256th: RSS ~133 MiB, ~0.5 MiB in use (glibc arenas keep it)
 *   memory growth [SECONDS]     a real leak: 1 MiB more of live 4 KiB blocks every 50 ms,
 *                               kept until exit
 *   memory mapped [SECONDS]     128 MiB of private anonymous memory mapped directly and touched,
 *                               next to a small heap
 *   memory classes [SECONDS]    fragmentation by size classes: 64 MiB of 64-byte blocks freed
 *                               but every 64th, then 64 MiB of 8 KiB blocks, which the holes
 *                               cannot take
 * Output lines: "allocator: <name> <figure>=<value>..." at the start of the stay and again at
 * its end. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SITE __attribute__((noinline))

enum { THREADS = 4, BLOCK = 1024, PER_THREAD = 32 << 20, KEEP_EVERY = 256 };

static void *volatile sink;

SITE void *site_retained(size_t size) { return malloc(size); }
SITE void *site_leak(size_t size) { return malloc(size); }
SITE void *site_small(size_t size) { return malloc(size); }
SITE void *site_large(size_t size) { return malloc(size); }

static pthread_barrier_t built;

static void *retention_thread(void *unused) {
    (void)unused;
    size_t n = PER_THREAD / BLOCK;
    void **blocks = calloc(n, sizeof *blocks);
    for (size_t i = 0; i < n; i++) {
        blocks[i] = site_retained(BLOCK);
        memset(blocks[i], 1, BLOCK);
    }
    for (size_t i = 0; i < n; i++)
        if (i % KEEP_EVERY) free(blocks[i]);
    sink = blocks;
    pthread_barrier_wait(&built);
    for (;;) pause(); /* stays: its arena with it */
    return NULL;
}

static int arenas_of_malloc_info(void) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return -1;
    malloc_info(0, f);
    fclose(f);
    int n = 0;
    for (const char *p = text; (p = strstr(p, "<heap nr=")); p++) n++;
    free(text);
    return n;
}

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
typedef int (*tc_property_fn)(const char *, size_t *);
typedef void (*mi_process_info_fn)(size_t *, size_t *, size_t *, size_t *, size_t *, size_t *, size_t *, size_t *);

static size_t jemalloc_stat(mallctl_fn mallctl, const char *name) {
    size_t v = 0, len = sizeof v;
    mallctl(name, &v, &len, NULL, 0);
    return v;
}

static size_t tcmalloc_property(tc_property_fn property, const char *name) {
    size_t v = 0;
    property(name, &v);
    return v;
}

static void report(void) {
    mallctl_fn mallctl = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
    tc_property_fn property = (tc_property_fn)dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty");
    mi_process_info_fn mi_info = (mi_process_info_fn)dlsym(RTLD_DEFAULT, "mi_process_info");
    if (mallctl) {
        uint64_t epoch = 1;
        size_t len = sizeof epoch;
        mallctl("epoch", &epoch, &len, &epoch, len);
        printf("allocator: jemalloc stats.allocated=%zu stats.resident=%zu stats.metadata=%zu\n",
               jemalloc_stat(mallctl, "stats.allocated"), jemalloc_stat(mallctl, "stats.resident"),
               jemalloc_stat(mallctl, "stats.metadata"));
    } else if (property) {
        printf("allocator: tcmalloc generic.current_allocated_bytes=%zu generic.heap_size=%zu "
               "tcmalloc.pageheap_unmapped_bytes=%zu\n",
               tcmalloc_property(property, "generic.current_allocated_bytes"),
               tcmalloc_property(property, "generic.heap_size"),
               tcmalloc_property(property, "tcmalloc.pageheap_unmapped_bytes"));
    } else if (mi_info) {
        size_t elapsed, user, sys, rss, peak_rss, commit, peak_commit, faults;
        mi_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
        printf("allocator: mimalloc current_commit=%zu peak_commit=%zu\n", commit, peak_commit);
    } else {
        struct mallinfo2 mi = mallinfo2();
        int arenas = arenas_of_malloc_info();
        printf("allocator: glibc arena=%zu uordblks=%zu fordblks=%zu hblkhd=%zu keepcost=%zu arenas=%d\n", mi.arena,
               mi.uordblks, mi.fordblks, mi.hblkhd, mi.keepcost, arenas);
    }
    fflush(stdout);
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0) {}
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "retention";
    double seconds = argc > 2 ? atof(argv[2]) : 2;
    if (strcmp(mode, "retention") == 0) {
        pthread_barrier_init(&built, NULL, THREADS + 1);
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, retention_thread, NULL);
        pthread_barrier_wait(&built);
        report();
        sleep_ms((long)(seconds * 1000));
    } else if (strcmp(mode, "growth") == 0) {
        report();
        long steps = (long)(seconds * 20);
        void **kept = calloc((size_t)steps * 256, sizeof *kept);
        for (long s = 0; s < steps; s++) {
            for (int i = 0; i < 256; i++) {
                void *p = site_leak(4096);
                memset(p, 2, 4096);
                kept[s * 256 + i] = p;
            }
            sleep_ms(50);
        }
        sink = kept;
    } else if (strcmp(mode, "mapped") == 0) {
        for (int i = 0; i < 100; i++) sink = site_small(1000);
        size_t size = (size_t)128 << 20;
        char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return 1;
        memset(m, 3, size);
        report();
        sleep_ms((long)(seconds * 1000));
        sink = m;
    } else if (strcmp(mode, "classes") == 0) {
        size_t n = (64 << 20) / 64;
        void **small = calloc(n, sizeof *small);
        for (size_t i = 0; i < n; i++) small[i] = site_small(64);
        for (size_t i = 0; i < n; i++)
            if (i % 64) free(small[i]);
        size_t m = (64 << 20) / 8192;
        void **large = calloc(m, sizeof *large);
        for (size_t i = 0; i < m; i++) {
            large[i] = site_large(8192);
            memset(large[i], 4, 8192);
        }
        sink = small;
        sink = large;
        report();
        sleep_ms((long)(seconds * 1000));
    } else {
        fprintf(stderr, "memory: unknown mode %s\n", mode);
        return 2;
    }
    report();
    return 0;
}
