/* The memory picture of a dump: what the process holds (RSS, its anonymous part), what its
 * allocator says it holds (in use, free, arenas), beside the sampled live heap, so a report
 * can tell a leak from memory the allocator keeps (docs/FORMAT.md, MEMORY; README, Memory).
 *
 * Taken by the writer at dump time, never on the allocation path. /proc is read with raw
 * read(2) into stack buffers: no stdio, no malloc. The allocator is asked through its own
 * statistics call, looked up with dlsym at start-up in the object that defines the next
 * malloc, so only the allocator actually in use is asked:
 *   glibc     mallinfo2 (mallinfo before glibc 2.33): walks every arena under its lock, one
 *             after another (a few microseconds each; it waits for a thread inside malloc of
 *             that arena). The arena count comes from the mappings, not from malloc_info,
 *             whose XML goes to a FILE that stdio would allocate (and a first allocation in
 *             the writer thread would create an arena of its own);
 *   jemalloc  mallctl("epoch") merges every arena's statistics under their locks, then
 *             stats.* read the merged copy; arenas in use are counted with
 *             arena.<i>.initialized;
 *   tcmalloc  MallocExtension_GetNumericProperty, each under the page heap's lock;
 *   mimalloc  mi_process_info: counters only, no lock (getrusage).
 * A lock that busy threads take and release in a tight loop can keep the caller waiting for
 * seconds (glibc's locks are not fair: bench/mallinfo.c), so with a writer thread the calls are
 * made by an asker thread of their own, and a dump waits for its answer at most
 * SW_MEMORY_WAIT_MS; a late answer is dropped and the record says SW_MEMORY_LATE. The asker
 * never allocates, so it gets no glibc arena (which would be counted). Without a writer
 * (SWHEAP_INTERVAL=0: only the exit dump) the exiting thread asks itself, and the program
 * stays single-threaded. docs/BENCHMARKS.md has the measured cost. */
#define _GNU_SOURCE
#include "sw_memory.h"
#include "sw_next_allocator.h"
#include "sw_os.h"
#include "sw_state.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

typedef struct mallinfo2 (*mallinfo2_fn)(void);
typedef struct mallinfo (*mallinfo_fn)(void);
typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
typedef int (*mallctlnametomib_fn)(const char *, size_t *, size_t *);
typedef int (*mallctlbymib_fn)(const size_t *, size_t, void *, size_t *, void *, size_t);
typedef int (*tc_property_fn)(const char *, size_t *);
typedef void (*mi_process_info_fn)(size_t *, size_t *, size_t *, size_t *, size_t *, size_t *, size_t *, size_t *);

/* Written by sw_memory_init at start-up (before the writer thread exists), then only read. */
static struct {
    uint32_t kind;
    mallinfo2_fn mallinfo2;
    mallinfo_fn mallinfo;
    mallctl_fn mallctl;
    mallctlbymib_fn mallctlbymib;
    size_t initialized_mib[3], initialized_miblen; /* "arena.<i>.initialized" */
    tc_property_fn tc_property;
    mi_process_info_fn mi_process_info;
} allocator;

/* `name` as the next object after this one defines it (or, attached, loaded after every
 * other object, as the global scope does), only when that object is `base` (the one holding
 * the next malloc): a statistics call of another allocator than the one in use would
 * describe memory nobody allocates from. */
static void *symbol_in(const char *name, const void *base) {
    Dl_info info;
    void *p = dlsym(RTLD_NEXT, name);
    if (p && base && dladdr(p, &info) && info.dli_fbase == base) return p;
    p = dlsym(RTLD_DEFAULT, name);
    return p && base && dladdr(p, &info) && info.dli_fbase == base ? p : NULL;
}

void sw_memory_init(void) {
    bool glibc = sw_allocator_is_glibc(); /* resolves sw_next */
    Dl_info info;
    const void *base = dladdr((void *)sw_next.malloc, &info) ? info.dli_fbase : NULL;
    memset(&allocator, 0, sizeof allocator);
    if (glibc) {
        allocator.kind = SW_ALLOCATOR_GLIBC;
        allocator.mallinfo2 = (mallinfo2_fn)symbol_in("mallinfo2", base);
        if (!allocator.mallinfo2) allocator.mallinfo = (mallinfo_fn)symbol_in("mallinfo", base);
    } else if ((allocator.mallctl = (mallctl_fn)symbol_in("mallctl", base))) {
        allocator.kind = SW_ALLOCATOR_JEMALLOC;
        allocator.mallctlbymib = (mallctlbymib_fn)symbol_in("mallctlbymib", base);
        mallctlnametomib_fn tomib = (mallctlnametomib_fn)symbol_in("mallctlnametomib", base);
        allocator.initialized_miblen = 3;
        if (!tomib || !allocator.mallctlbymib ||
            tomib("arena.0.initialized", allocator.initialized_mib, &allocator.initialized_miblen) != 0)
            allocator.initialized_miblen = 0;
    } else if ((allocator.tc_property = (tc_property_fn)symbol_in("MallocExtension_GetNumericProperty", base))) {
        allocator.kind = SW_ALLOCATOR_TCMALLOC;
    } else if ((allocator.mi_process_info = (mi_process_info_fn)symbol_in("mi_process_info", base))) {
        allocator.kind = SW_ALLOCATOR_MIMALLOC;
    }
}

uint32_t sw_memory_allocator(void) { return allocator.kind; }

/* ---- /proc ---- */

/* A small /proc file into `buf` (NUL-terminated); its length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap) {
    int fd = sw_os_open(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return -1;
    size_t len = 0;
    ssize_t got;
    while (len + 1 < cap && (got = read(fd, buf + len, cap - 1 - len)) > 0) len += (size_t)got;
    close(fd);
    buf[len] = 0;
    return (ssize_t)len;
}

static bool parse_number(const char **p, const char *end, uint64_t *out) {
    while (*p < end && (**p == ' ' || **p == '\t')) (*p)++;
    const char *start = *p;
    uint64_t v = 0;
    for (; *p < end && **p >= '0' && **p <= '9'; (*p)++) {
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + (uint64_t)(**p - '0');
    }
    *out = v;
    return *p > start;
}

bool sw_memory_parse_statm(const char *text, size_t len, uint64_t page_size, uint64_t *rss, uint64_t *shared) {
    const char *p = text, *end = text + len;
    uint64_t size, resident, share;
    if (!parse_number(&p, end, &size) || !parse_number(&p, end, &resident) || !parse_number(&p, end, &share)) return false;
    *rss = resident * page_size;
    *shared = share * page_size;
    return true;
}

bool sw_memory_parse_kb(const char *text, size_t len, const char *field, uint64_t *bytes) {
    size_t flen = strlen(field);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        if ((size_t)(eol - p) > flen && memcmp(p, field, flen) == 0 && p[flen] == ':') {
            const char *q = p + flen + 1;
            uint64_t kb;
            if (!parse_number(&q, eol, &kb)) return false;
            *bytes = kb * 1024;
            return true;
        }
        p = eol + 1;
    }
    return false;
}

static void take_proc(sw_format_memory *out) {
    char buf[4096];
    ssize_t len = read_small("/proc/self/statm", buf, sizeof buf);
    long page = sysconf(_SC_PAGESIZE);
    if (len > 0 && page > 0 && sw_memory_parse_statm(buf, (size_t)len, (uint64_t)page, &out->rss_bytes, &out->file_bytes))
        out->valid |= SW_MEMORY_RSS;
    /* smaps_rollup (Linux 4.14): the kernel walks the page tables under the mmap lock for
     * reading; status's RssAnon, a counter, where it is missing. */
    len = read_small("/proc/self/smaps_rollup", buf, sizeof buf);
    if (len > 0 && sw_memory_parse_kb(buf, (size_t)len, "Anonymous", &out->anon_bytes)) {
        out->valid |= SW_MEMORY_ANON;
        return;
    }
    len = read_small("/proc/self/status", buf, sizeof buf);
    if (len > 0 && sw_memory_parse_kb(buf, (size_t)len, "RssAnon", &out->anon_bytes)) out->valid |= SW_MEMORY_ANON;
}

/* ---- glibc's arenas, from the mappings ---- */

#define HEAP_MAX ((uintptr_t)64 << 20) /* HEAP_MAX_SIZE on 64-bit: 2 * DEFAULT_MMAP_THRESHOLD_MAX */
enum { MAX_CANDIDATES = 1 << 16 };

/* heap_info {ar_ptr, prev, size, mprotect_size, ...} at `a`: the first heap of an arena has
 * no previous heap and its arena right after the heap_info (32 bytes before glibc 2.35, 48
 * since). */
static bool first_heap_at(uintptr_t a) {
    uintptr_t h[4];
    struct iovec local = {h, sizeof h}, remote = {(void *)a, sizeof h};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)sizeof h) return false;
    uintptr_t ar_ptr = h[0], prev = h[1], size = h[2], mprotect_size = h[3];
    return (ar_ptr == a + 32 || ar_ptr == a + 48) && prev == 0 && size >= 4096 && size <= HEAP_MAX &&
           mprotect_size >= size && mprotect_size <= HEAP_MAX;
}

uint32_t sw_memory_count_glibc_arenas(const sw_map_list *maps) {
    uint32_t arenas = 1; /* main_arena, always there */
    size_t candidates = 0;
    for (size_t i = 0; i < maps->n; i++) {
        const sw_mapping *m = &maps->maps[i];
        if (!m->readable || !m->writable || m->kind != SW_MAP_ANON) continue;
        /* every aligned address inside: the heap's writable part may have merged with a
         * writable mapping just below it */
        for (uintptr_t a = (m->lo + HEAP_MAX - 1) & ~(HEAP_MAX - 1); a < m->hi && a + 32 <= m->hi; a += HEAP_MAX) {
            if (++candidates > MAX_CANDIDATES) return arenas;
            arenas += first_heap_at(a);
        }
    }
    return arenas;
}

/* ---- the allocators ---- */

static void take_glibc(sw_format_memory *out) {
    uint64_t f[8];
    if (allocator.mallinfo2) {
        struct mallinfo2 mi = allocator.mallinfo2();
        uint64_t g[8] = {mi.arena, mi.uordblks, mi.fordblks, mi.hblkhd, mi.keepcost, mi.ordblks, mi.hblks, mi.fsmblks};
        memcpy(f, g, sizeof f);
    } else if (allocator.mallinfo) {
        /* ints that wrap past 2 GiB: read as unsigned, right up to 4 GiB */
        struct mallinfo mi = allocator.mallinfo();
        uint64_t g[8] = {(unsigned)mi.arena, (unsigned)mi.uordblks, (unsigned)mi.fordblks, (unsigned)mi.hblkhd,
                         (unsigned)mi.keepcost, (unsigned)mi.ordblks, (unsigned)mi.hblks, (unsigned)mi.fsmblks};
        memcpy(f, g, sizeof f);
    } else {
        return;
    }
    memcpy(out->raw, f, sizeof f);
    out->in_use_bytes = f[1] + f[3]; /* uordblks + hblkhd: arena chunks in use, mmapped chunks */
    out->free_bytes = f[2];          /* fordblks: free chunks, the top chunk included */
    out->held_bytes = f[0] + f[3];   /* arena + hblkhd */
    out->valid |= SW_MEMORY_RAW | SW_MEMORY_IN_USE | SW_MEMORY_FREE | SW_MEMORY_HELD;
}

static bool jemalloc_size(const char *name, uint64_t *out) {
    size_t v, len = sizeof v;
    if (allocator.mallctl(name, &v, &len, NULL, 0) != 0 || len != sizeof v) return false;
    *out = v;
    return true;
}

static void take_jemalloc(sw_format_memory *out) {
    uint64_t epoch = 1;
    size_t len = sizeof epoch;
    if (allocator.mallctl("epoch", &epoch, &len, &epoch, len) != 0) return;
    static const char *const names[] = {"stats.allocated", "stats.active", "stats.resident", "stats.retained",
                                        "stats.mapped", "stats.metadata"};
    uint64_t f[6];
    for (size_t i = 0; i < 6; i++)
        if (!jemalloc_size(names[i], &f[i])) return; /* built without statistics */
    memcpy(out->raw, f, sizeof f);
    unsigned narenas = 0;
    len = sizeof narenas;
    if (allocator.mallctl("arenas.narenas", &narenas, &len, NULL, 0) == 0) out->raw[6] = narenas;
    out->in_use_bytes = f[0];
    out->held_bytes = f[2];                                       /* resident: active, dirty and metadata pages */
    out->free_bytes = f[2] > f[0] + f[5] ? f[2] - f[0] - f[5] : 0; /* resident - allocated - metadata */
    out->valid |= SW_MEMORY_RAW | SW_MEMORY_IN_USE | SW_MEMORY_FREE | SW_MEMORY_HELD;
    if (allocator.initialized_miblen == 3 && narenas) {
        uint32_t in_use = 0;
        size_t mib[3];
        memcpy(mib, allocator.initialized_mib, sizeof mib);
        for (unsigned i = 0; i < narenas; i++) {
            bool initialized = false;
            size_t blen = sizeof initialized;
            mib[1] = i;
            if (allocator.mallctlbymib(mib, 3, &initialized, &blen, NULL, 0) == 0 && initialized) in_use++;
        }
        out->arenas = in_use;
        out->valid |= SW_MEMORY_ARENAS;
    }
}

static void take_tcmalloc(sw_format_memory *out) {
    static const char *const names[] = {"generic.current_allocated_bytes", "generic.heap_size",
                                        "tcmalloc.pageheap_free_bytes", "tcmalloc.pageheap_unmapped_bytes",
                                        "tcmalloc.central_cache_free_bytes", "tcmalloc.transfer_cache_free_bytes",
                                        "tcmalloc.thread_cache_free_bytes"};
    uint64_t f[7];
    for (size_t i = 0; i < 7; i++) {
        size_t v = 0;
        if (!allocator.tc_property(names[i], &v)) {
            if (i < 4) return; /* the figures the others rest on */
            v = 0;
        }
        f[i] = v;
    }
    memcpy(out->raw, f, sizeof f);
    uint64_t held = f[1] > f[3] ? f[1] - f[3] : 0; /* heap_size counts pages returned to the system */
    out->in_use_bytes = f[0];
    out->held_bytes = held;
    out->free_bytes = held > f[0] ? held - f[0] : 0;
    out->valid |= SW_MEMORY_RAW | SW_MEMORY_IN_USE | SW_MEMORY_FREE | SW_MEMORY_HELD;
}

static void take_mimalloc(sw_format_memory *out) {
    size_t elapsed = 0, user = 0, sys = 0, rss = 0, peak_rss = 0, commit = 0, peak_commit = 0, faults = 0;
    allocator.mi_process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
    uint64_t f[5] = {rss, peak_rss, commit, peak_commit, faults};
    memcpy(out->raw, f, sizeof f);
    /* mimalloc keeps no count of bytes in use outside its debug builds: only what it holds */
    out->held_bytes = commit;
    out->valid |= SW_MEMORY_RAW | SW_MEMORY_HELD;
}

/* The allocator's figures into `out` (its allocator_ns too), in the calling thread. */
static void ask(sw_format_memory *out) {
    uint64_t start = sw_now_ns(CLOCK_MONOTONIC);
    switch (allocator.kind) {
    case SW_ALLOCATOR_GLIBC: take_glibc(out); break;
    case SW_ALLOCATOR_JEMALLOC: take_jemalloc(out); break;
    case SW_ALLOCATOR_TCMALLOC: take_tcmalloc(out); break;
    case SW_ALLOCATOR_MIMALLOC: take_mimalloc(out); break;
    }
    out->allocator_ns = sw_now_ns(CLOCK_MONOTONIC) - start;
}

/* ---- the asker thread ---- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t asked_cv, answered_cv; /* answered_cv waits on CLOCK_MONOTONIC */
    uint64_t asked, answered;             /* request generations */
    sw_format_memory answer;              /* the figures of generation `answered` */
    bool running;
    bool stopping, exited;                /* sw_memory_stop_asker asks it to end; it says it did */
} asker = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *asker_main(void *unused) {
    (void)unused;
    sw_tls.busy = 1;         /* never sampled, as the writer */
    sw_state_own_thread(1);  /* the thread census counts it as the shim's, not the program's */
    pthread_mutex_lock(&asker.lock);
    for (;;) {
        while (asker.answered == asker.asked && !asker.stopping) pthread_cond_wait(&asker.asked_cv, &asker.lock);
        if (asker.stopping) break;
        uint64_t generation = asker.asked;
        pthread_mutex_unlock(&asker.lock);
        sw_format_memory figures = {0};
        ask(&figures);
        pthread_mutex_lock(&asker.lock);
        asker.answer = figures;
        asker.answered = generation;
        pthread_cond_broadcast(&asker.answered_cv);
    }
    asker.exited = true;
    pthread_cond_broadcast(&asker.answered_cv);
    pthread_mutex_unlock(&asker.lock);
    sw_state_own_thread(-1);
    return NULL;
}

void sw_memory_start_asker(void) {
    if (allocator.kind == SW_ALLOCATOR_UNKNOWN || asker.running) return;
    pthread_mutex_lock(&asker.lock);
    bool ending = asker.stopping && !asker.exited;
    pthread_mutex_unlock(&asker.lock);
    if (ending) return; /* the last one is still in a slow call and uses its lock: the writer asks itself */
    pthread_mutex_init(&asker.lock, NULL);
    pthread_cond_init(&asker.asked_cv, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&asker.answered_cv, &attr);
    pthread_condattr_destroy(&attr);
    asker.asked = asker.answered = 0;
    asker.stopping = asker.exited = false;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t thread;
    if (pthread_create(&thread, NULL, asker_main, NULL) == 0) {
        pthread_detach(thread);
        asker.running = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* How long detach waits for the asker to end. */
enum { STOP_WAIT_MS = 1000 };

void sw_memory_stop_asker(void) {
    if (!asker.running) return;
    uint64_t deadline = sw_now_ns(CLOCK_MONOTONIC) + STOP_WAIT_MS * 1000000ull;
    struct timespec until = {.tv_sec = (time_t)(deadline / 1000000000ull), .tv_nsec = (long)(deadline % 1000000000ull)};
    pthread_mutex_lock(&asker.lock);
    asker.stopping = true;
    pthread_cond_broadcast(&asker.asked_cv);
    while (!asker.exited)
        if (pthread_cond_timedwait(&asker.answered_cv, &asker.lock, &until) != 0 && !asker.exited) break;
    pthread_mutex_unlock(&asker.lock);
    asker.running = false; /* ended, or ends after the call it is in: a later start makes a new one */
}

void sw_memory_postfork_child(void) {
    asker.running = false; /* it did not survive fork; the writer's start makes a new one */
    asker.stopping = asker.exited = false;
    pthread_mutex_init(&asker.lock, NULL); /* a thread that did not survive may have held it */
}

/* Through the asker: false when it did not answer within SW_MEMORY_WAIT_MS. */
static bool ask_in_time(sw_format_memory *out) {
    uint64_t deadline = sw_now_ns(CLOCK_MONOTONIC) + SW_MEMORY_WAIT_MS * 1000000ull;
    struct timespec until = {.tv_sec = (time_t)(deadline / 1000000000ull), .tv_nsec = (long)(deadline % 1000000000ull)};
    pthread_mutex_lock(&asker.lock);
    uint64_t generation = ++asker.asked;
    pthread_cond_signal(&asker.asked_cv);
    while (asker.answered < generation)
        if (pthread_cond_timedwait(&asker.answered_cv, &asker.lock, &until) != 0 && asker.answered < generation) break;
    bool answered = asker.answered >= generation;
    if (answered) {
        const sw_format_memory *a = &asker.answer;
        memcpy(out->raw, a->raw, sizeof out->raw);
        out->in_use_bytes = a->in_use_bytes, out->free_bytes = a->free_bytes, out->held_bytes = a->held_bytes;
        out->arenas = a->arenas, out->allocator_ns = a->allocator_ns;
        out->valid |= a->valid;
    }
    pthread_mutex_unlock(&asker.lock);
    return answered;
}

void sw_memory_take(sw_format_memory *out, bool ask_allocator, double sampled_live_bytes) {
    memset(out, 0, sizeof *out);
    out->version = SW_MEMORY_VERSION;
    out->size = SW_FORMAT_MEMORY_SIZE;
    out->allocator = allocator.kind;
    out->sampled_live_bytes = sampled_live_bytes;
    take_proc(out);
    if (allocator.kind == SW_ALLOCATOR_UNKNOWN) return;
    if (!ask_allocator) {
        out->valid |= SW_MEMORY_SKIPPED;
        return;
    }
    if (!asker.running) ask(out);
    else if (!ask_in_time(out)) {
        out->valid |= SW_MEMORY_LATE;
        return;
    }
    if (allocator.kind == SW_ALLOCATOR_GLIBC) {
        sw_map_list maps;
        if (sw_maps_read(&maps)) {
            out->arenas = sw_memory_count_glibc_arenas(&maps);
            out->valid |= SW_MEMORY_ARENAS;
            sw_maps_free(&maps);
        }
    }
}
