/* The swheap dump format, defined once: the shim writes it (Sources/CSwHeap/encode.c), the
 * Swift reader and test writer read these constants through the CSwHeapFormat module, and
 * docs/FORMAT.md describes it in prose. All integers little-endian; f64 is IEEE-754.
 *
 * Constants are plain macros with unsigned literals so that Swift imports them as UInt32
 * and C can use them in case labels and static assertions. */
#ifndef SWHEAP_FORMAT_H
#define SWHEAP_FORMAT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define SW_FORMAT_MAGIC "SWHEAPD1" /* 8 bytes, no terminator in the file */
#define SW_FORMAT_MAGIC_SIZE 8u
#define SW_FORMAT_VERSION 2u         /* what the shim writes */
#define SW_FORMAT_VERSION_OLDEST 1u  /* readers still read every version from this one on */

/* Header flags. */
#define SW_FLAG_FINAL 1u     /* written at exit */
#define SW_FLAG_SCANNED 2u   /* unreferenced figures are valid */
#define SW_FLAG_TRUNCATED 4u /* a table of the shim was full: figures are lower bounds */
#define SW_FLAG_REACHABILITY 8u /* with SCANNED: the heap was traversed from the roots (LeakSanitizer's
                                 * semantics); without it the scan was the conservative fallback */
#define SW_FLAG_DEFLATED 16u    /* v2: everything after the header is one zlib stream */

/* Why the exit scan fell back (header offset 68, `scan_fallback`): with SCANNED and without
 * REACHABILITY, the reason in the low 8 bits and, for SW_FALLBACK_THREAD, the thread id that did
 * not stop in the upper 24 (Linux thread ids are below 2^22). On a FINAL dump without SCANNED,
 * SW_FALLBACK_BUDGET says why no scan ran, with the MiB it would have read in the upper 24.
 * 0: no reason recorded (files written before it was, or not a fallback). */
#define SW_FALLBACK_NONE 0u
#define SW_FALLBACK_ALLOCATOR 1u   /* the allocator is not glibc's: its chunks cannot be walked */
#define SW_FALLBACK_MEMORY 2u      /* the scan could not map its own memory */
#define SW_FALLBACK_SIGNAL 3u      /* the signal that stops threads could not be installed */
#define SW_FALLBACK_THREAD 4u      /* a thread did not stop in time (its id in the upper bits) */
#define SW_FALLBACK_THREADS 5u     /* threads kept starting threads, or could not be listed */
#define SW_FALLBACK_MAPS 6u        /* /proc/self/maps could not be read */
#define SW_FALLBACK_HEAP 7u        /* the heap's chunk headers were not understood */
#define SW_FALLBACK_SAMPLED 8u     /* sampled objects were not where the chunk walk put chunks */
#define SW_FALLBACK_ARENA 9u       /* glibc's main arena was not found in libc's data */
#define SW_FALLBACK_BUDGET 10u     /* not scanned: the conservative scan would read more memory than
                                    * SWHEAP_SCAN_MAX_BYTES (the MiB it would read in the upper bits) */
#define SW_FALLBACK_COPY 11u       /* a live scan: the copy of the process that scans could not be made,
                                    * or ended without verdicts (killed, out of time) */
#define SW_FALLBACK_SECCOMP 12u    /* a live scan: the process runs under a seccomp filter, which may kill a
                                    * process that forks, so it is not copied (the exit scan still runs) */
#define SW_FALLBACK_REASON(v) ((v) & 0xFFu)
#define SW_FALLBACK_THREAD_ID(v) ((v) >> 8)

/* Section tags. */
#define SW_TAG_EXE 1u
#define SW_TAG_CMDLINE 2u
#define SW_TAG_MODULES 3u
#define SW_TAG_STACKS 4u
#define SW_TAG_LIVE 5u
#define SW_TAG_LOG 6u      /* v2 epoch file: the process's stack log and how much of it this dump uses */
#define SW_TAG_COHORTS 7u  /* v2 epoch file: live per (stack, birth cohort); replaces LIVE */
#define SW_TAG_ALLOC 8u    /* v2 log chunk: cumulative allocation of the stacks that changed */
#define SW_TAG_THREADS 9u  /* v2 epoch file: the thread census by creation stack (optional: older dumps lack it) */
#define SW_TAG_MEMORY 10u  /* v2 epoch file: the memory picture at dump time (sw_format_memory) */
#define SW_TAG_ATTACH 11u  /* v2 epoch file, optional: the shim was attached to a running process */
#define SW_TAG_SCAN 12u    /* v2 epoch file, optional: the scan this dump carries, or why it has none (sw_format_scan) */
#define SW_TAG_END 0xFFFFFFFFu

/* Format v2 (docs/FORMAT.md): each process image keeps one append-only stack log beside its
 * epoch files. The log holds what v1 repeated in every dump (stacks, modules, cumulative
 * allocation), each written once, as one chunk per dump; an epoch file holds the live heap by
 * birth cohort and names the log and its length, so it still stands alone with that file. */
#define SW_LOG_MAGIC "SWHEAPL2"
#define SW_LOG_FLAG_DEFLATED 1u /* the chunk's body is one zlib stream */
#define SW_FORMAT_VERSION_LOG 2u /* the first version with a stack log: readers read v1 and v2 layouts */

/* The fixed header at offset 0. */
typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t flags;
    uint32_t pid;
    uint32_t parent_pid;
    uint64_t epoch;
    uint64_t wall_ns;       /* CLOCK_REALTIME */
    uint64_t monotonic_ns;  /* CLOCK_MONOTONIC */
    uint64_t start_ns;      /* CLOCK_MONOTONIC when the shim started in this process */
    uint64_t rate;          /* mean bytes between samples; 1 = every allocation */
    uint32_t max_depth;
    uint32_t scan_fallback; /* SW_FALLBACK_*: why the exit scan fell back (was reserved, 0) */
} sw_format_header;

/* Before every section body. */
typedef struct {
    uint32_t tag;
    uint32_t reserved;
    uint64_t length; /* body bytes */
} sw_format_section;

/* MODULES: per PT_LOAD segment of a module. */
typedef struct {
    uint64_t start, end, file_offset;
    uint32_t flags; /* ELF p_flags */
    uint32_t reserved;
} sw_format_segment;

/* MODULES: the smallest module record (bias, two empty strings, segment count). */
#define SW_FORMAT_MODULE_MINIMUM 20u

/* STACKS: per stack, followed by depth u64 return addresses. */
typedef struct {
    uint32_t stack_id;
    uint32_t depth;
    double alloc_objects;
    double alloc_bytes;
} sw_format_stack;

/* LIVE: per (stack, birth epoch) bucket. */
typedef struct {
    uint32_t stack_id;
    uint32_t birth_epoch;
    double live_objects, live_bytes;
    double unref_objects, unref_bytes;
} sw_format_live;

/* SCAN: the latest reachability scan that found verdicts, carried by its own dump and every
 * dump after it (so that the verdicts outlive retention, and a process killed later keeps
 * them): the record, then u32 count and per stack a COHORTS record (birth_first = birth_last
 * = 0) with its live and unreferenced figures as of the scan, sorted by stack id. Without
 * SW_SCAN_DONE: no scan has found verdicts yet, and this dump's try failed (`fallback`), with
 * no stacks. The scan's own dump also has the unref figures in COHORTS and the header flags
 * SCANNED and REACHABILITY. Exit dumps scan at exit; a live scan (SWHEAP_SCAN_INTERVAL,
 * `swheap scan PID`) runs in the dump that follows its request. */
/* SCAN holder records: where the shortest path to a referenced stack's nearest block begins. */
#define SW_HOLDER_GLOBAL 1u   /* a word in a module's writable data (address: the word) */
#define SW_HOLDER_STACK 2u    /* a word on a thread's stack (address: the word) */
#define SW_HOLDER_TLS 3u      /* a word in a thread's static TLS or thread descriptor, or its DTV */
#define SW_HOLDER_REGISTER 4u /* a thread's register (address: 8 times its number in the saved context) */
#define SW_HOLDER_KEY 5u      /* a thread's pthread key value, in its descriptor (address: the word) */
#define SW_HOLDER_KEY_BLOCK 0x8000000000000000ull /* a KEY holder's context: a block of 32 keys from this one */
typedef struct {
    uint32_t stack_id;
    uint32_t kind;     /* SW_HOLDER_* */
    uint32_t tid;      /* the thread of a stack, TLS or register holder; 0 for a global */
    uint32_t depth;    /* heap blocks between the root and the block */
    uint64_t address;
    uint64_t context;  /* stack, register: a code address in the frame's function (0: unknown);
                        * TLS: where the word's variable lies in its module's TLS image; KEY:
                        * the key, or SW_HOLDER_KEY_BLOCK | its block's first key; else 0 */
} sw_format_holder;

/* SCAN path steps: the heap blocks between a holder's root and its stack's block, in order. */
#define SW_PATH_STEPS 8u /* recorded per path at most: the first and last half when longer */
typedef struct {
    uint32_t stack_id;    /* the holder's */
    uint32_t index;       /* place on the path: 0 is the block the root points into */
    uint32_t block_stack; /* the stack of the sampled object in this block; 0: not sampled */
    uint32_t reserved;
    uint64_t address;     /* the block's payload */
    uint64_t size;        /* its usable bytes */
    uint64_t offset;      /* where in it the word pointing at the next block lies (SW_STEP_OFFSET_UNKNOWN) */
} sw_format_step;
#define SW_STEP_OFFSET_UNKNOWN 0xFFFFFFFFFFFFFFFFull /* not looked for: the scan's budget for paths was spent */

/* SCAN components: per stack, the unreferenced components its unreferenced blocks belong to
 * (blocks linked to each other, whatever the direction, share one), a few at most. */
#define SW_STACK_COMPONENTS 4u
typedef struct {
    uint32_t stack_id;
    uint32_t component; /* a number shared by the stacks of one component in this scan */
} sw_format_component;
#define SW_SCAN_LIVE 1u  /* while the program ran, not at exit */
#define SW_SCAN_ASKED 2u /* asked for by `swheap scan`, not by the interval */
#define SW_SCAN_DONE 4u  /* verdicts are valid */
typedef struct {
    uint64_t wall_ns;     /* CLOCK_REALTIME when it began */
    uint64_t pause_ns;    /* how long the program's other threads were stopped */
    uint64_t duration_ns; /* the whole scan */
    uint32_t flags;       /* SW_SCAN_* */
    uint32_t fallback;    /* SW_FALLBACK_* when not DONE */
    uint32_t epoch;       /* the dump it ran in */
    uint32_t cpu_us;      /* CPU time of the scan in µs (live: the copy's; at exit: the scanning thread's) */
} sw_format_scan;

/* v2 log: the file header. */
typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t pid;
    uint64_t start_ns; /* the image's start, as in the epoch headers */
    uint64_t reserved;
} sw_format_log_header;

/* v2 log: before each chunk (one per dump). The body, once inflated, is sections as in an
 * epoch file: STACKS (new stacks only), MODULES (only when the list changed), ALLOC, END. */
typedef struct {
    uint32_t epoch;  /* the dump this chunk belongs to */
    uint32_t flags;  /* SW_LOG_FLAG_* */
    uint64_t raw_length;    /* body bytes after inflating */
    uint64_t stored_length; /* body bytes in the file */
} sw_format_log_chunk;

/* v2 STACKS (in the log): per new stack, followed by depth u64 return addresses. */
typedef struct {
    uint32_t stack_id;
    uint32_t depth;
} sw_format_stack_frames;

/* v2 ALLOC (in the log): cumulative allocation of a stack whose figures changed. */
typedef struct {
    uint32_t stack_id;
    uint32_t reserved;
    double alloc_objects;
    double alloc_bytes;
} sw_format_alloc;

/* v2 COHORTS (in the epoch file): live objects of one stack born in epochs first..last. */
typedef struct {
    uint32_t stack_id;
    uint32_t birth_first;
    uint32_t birth_last;
    uint32_t reserved;
    double live_objects, live_bytes;
    double unref_objects, unref_bytes;
} sw_format_cohort;

/* THREADS (in the epoch file): the thread census at this dump. The fixed part, then u32 count
 * and that many sw_format_thread_site records sorted by stack id. Threads made by
 * pthread_create while profiling are tracked one by one, by creation stack; the others (the
 * main thread, threads started before the shim, threads made by raw clone) only as counts
 * read from /proc/self/task. */
typedef struct {
    uint32_t tasks;            /* threads in /proc/self/task at this dump (0: could not be read) */
    uint32_t before_profiling; /* threads in /proc/self/task when the shim started (1 in a forked child) */
    uint32_t untracked;        /* of `tasks`, those not made by pthread_create while profiling, nor the
                                * shim's own: before profiling, or raw clone */
    uint32_t flags;            /* SW_THREADS_FLAG_* */
} sw_format_threads;

#define SW_THREADS_FLAG_TRUNCATED 1u /* the census table was full: some threads are counted under stack 0 */

/* THREADS: one creation site. Stack id 0 stands for threads whose creation stack is unknown
 * (the stack table or the census was full). */
typedef struct {
    uint32_t stack_id;
    uint32_t reserved;
    uint64_t running;          /* started and not yet ended */
    uint64_t exited_unjoined;  /* ended, joinable, never joined: their stacks stay mapped */
    uint64_t gone;             /* joined, or detached and ended: counted, not kept */
    uint64_t stack_bytes;      /* stack mappings held by the running and exited-unjoined threads
                                * (requested stack size plus guard) */
    uint64_t unjoined_bytes;   /* the part of stack_bytes the exited-unjoined threads hold */
} sw_format_thread_site;
/* ATTACH (in the epoch file, only when `swheap attach` loaded the shim into a process that
 * was already running): when profiling began and ended, and how much heap the process held
 * before it began, by the allocator's own figures. That heap predates every sample and is not
 * attributed to any site. Readers that do not know the tag skip it. */
#define SW_ATTACH_HEAP_KNOWN 1u /* heap_before_bytes is the allocator's figure (else 0, unknown) */

typedef struct {
    uint64_t attached_wall_ns;  /* CLOCK_REALTIME when the hooks were installed */
    uint64_t detached_wall_ns;  /* CLOCK_REALTIME of `swheap detach`; 0 while attached */
    uint64_t heap_before_bytes; /* bytes in use by the allocator at attach (glibc: mallinfo2
                                 * uordblks + hblkhd; jemalloc: stats.allocated) */
    uint32_t flags;             /* SW_ATTACH_HEAP_KNOWN */
    uint32_t reserved;
} sw_format_attach;
/* v2 MEMORY (in the epoch file, optional: older shims do not write it): the process's memory
 * as the writer saw it at dump time, beside the sampled heap. A versioned record: `version`
 * says which fields exist, `size` how many bytes the record has. Later versions only append
 * fields, so a reader reads the fields of the newest version it knows and skips the rest;
 * a record smaller than its version's size is invalid. A figure whose `valid` bit is clear
 * was not taken (0 in the file) and must not be shown as a number. */
#define SW_MEMORY_VERSION 1u

/* `allocator`: whose figures these are (the allocator underneath the shim). */
#define SW_ALLOCATOR_UNKNOWN 0u  /* none recognised, or one without statistics */
#define SW_ALLOCATOR_GLIBC 1u    /* glibc's ptmalloc: mallinfo2, arenas counted from the mappings */
#define SW_ALLOCATOR_JEMALLOC 2u /* mallctl after refreshing "epoch" */
#define SW_ALLOCATOR_TCMALLOC 3u /* MallocExtension_GetNumericProperty (gperftools) */
#define SW_ALLOCATOR_MIMALLOC 4u /* mi_process_info */
#define SW_ALLOCATOR_LAST 4u

/* `valid`: which figures were taken. */
#define SW_MEMORY_RSS 1u      /* rss_bytes and file_bytes (/proc/self/statm) */
#define SW_MEMORY_ANON 2u     /* anon_bytes (/proc/self/smaps_rollup) */
#define SW_MEMORY_IN_USE 4u   /* in_use_bytes */
#define SW_MEMORY_FREE 8u     /* free_bytes */
#define SW_MEMORY_HELD 16u    /* held_bytes */
#define SW_MEMORY_ARENAS 32u  /* arenas */
#define SW_MEMORY_RAW 64u     /* raw[]: the allocator's own figures (meaning per allocator, below) */
#define SW_MEMORY_SKIPPED 128u /* the allocator was not asked: the exit dump of _exit or
                                * quick_exit, which may run in a signal handler, where its
                                * locks could be held by the interrupted code */
#define SW_MEMORY_LATE 256u   /* the allocator was asked but did not answer within
                               * SW_MEMORY_WAIT_MS (its locks stayed busy): no figures */
#define SW_MEMORY_KNOWN_BITS 511u
/* How long a dump waits for the allocator's figures (they take its locks, which busy threads
 * may hold nearly all the time: glibc's are not fair). */
#define SW_MEMORY_WAIT_MS 250u

/* raw[] per allocator (unused slots 0):
 *   glibc     mallinfo2: arena, uordblks, fordblks, hblkhd, keepcost, ordblks, hblks, fsmblks
 *   jemalloc  stats.allocated, stats.active, stats.resident, stats.retained, stats.mapped,
 *             stats.metadata, arenas.narenas
 *   tcmalloc  generic.current_allocated_bytes, generic.heap_size, tcmalloc.pageheap_free_bytes,
 *             tcmalloc.pageheap_unmapped_bytes, tcmalloc.central_cache_free_bytes,
 *             tcmalloc.transfer_cache_free_bytes, tcmalloc.thread_cache_free_bytes
 *   mimalloc  mi_process_info: current_rss, peak_rss, current_commit, peak_commit, page_faults */
#define SW_MEMORY_RAW_COUNT 8u

typedef struct {
    uint32_t version;       /* SW_MEMORY_VERSION of the writer */
    uint32_t size;          /* bytes of this record, at least SW_FORMAT_MEMORY_SIZE */
    uint32_t allocator;     /* SW_ALLOCATOR_* */
    uint32_t valid;         /* SW_MEMORY_* */
    uint64_t rss_bytes;     /* resident set: statm resident pages * page size */
    uint64_t file_bytes;    /* its file-backed and shared part: statm shared pages * page size */
    uint64_t anon_bytes;    /* resident anonymous memory: smaps_rollup Anonymous */
    uint64_t in_use_bytes;  /* the allocator's bytes in blocks handed out and not freed */
    uint64_t free_bytes;    /* what it holds besides: free blocks and pages not returned */
    uint64_t held_bytes;    /* everything it holds from the system, as far as it knows resident */
    uint32_t arenas;        /* its arenas in use (glibc: main arena + one per other arena) */
    uint32_t reserved;
    uint64_t allocator_ns;  /* how long asking the allocator took (CLOCK_MONOTONIC) */
    double sampled_live_bytes; /* the sampled estimate of the live heap: the COHORTS total */
    uint64_t raw[SW_MEMORY_RAW_COUNT];
} sw_format_memory;

/* Birth cohorts coarsen with age: seen from dump `epoch`, an object born in `birth` belongs
 * to the aligned block of 2^k epochs containing `birth` (block j = epochs j*2^k+1 .. (j+1)*2^k)
 * with the largest k whose block ends at least SW_COHORT_DETAIL * 2^k epochs before `epoch`.
 * The last SW_COHORT_DETAIL * 2 epochs stay single; a run of E epochs has about
 * SW_COHORT_DETAIL * log2(E / SW_COHORT_DETAIL) cohorts per stack. Blocks only merge as
 * `epoch` grows: a cohort of an earlier dump lies inside exactly one cohort of a later one. */
#define SW_COHORT_DETAIL 4u

static inline void sw_cohort_of(uint32_t birth, uint32_t epoch, uint32_t *first, uint32_t *last) {
    uint64_t size = 1;
    for (uint64_t next = 2; next <= (1ull << 31); next *= 2) {
        uint64_t end = ((uint64_t)(birth - 1) / next + 1) * next;
        if (end + SW_COHORT_DETAIL * next > epoch) break;
        size = next;
    }
    uint64_t start = (uint64_t)(birth - 1) / size * size + 1;
    *first = (uint32_t)start;
    *last = (uint32_t)(start + size - 1);
}

/* Retention (SWHEAP_KEEP in the shim, the bounded timeline of the reader): with `newest` the
 * newest epoch, the 2 * recent newest epochs are all kept, older ones at spacings that double
 * with age (epochs divisible by the spacing), and epoch 1 always. At most recent * (j + 1) + 1
 * epochs are kept while newest <= recent * 2^j (docs/FORMAT.md, "Retention"). An epoch
 * dropped once stays dropped as `newest` grows, so thinning never needs an epoch back. */
static inline int sw_retention_keeps(uint64_t epoch, uint64_t newest, uint64_t recent) {
    if (epoch <= 1 || recent == 0 || epoch + recent > newest) return 1;
    uint64_t age = newest - epoch, spacing = 1;
    while (spacing * 2 * recent <= age) spacing *= 2;
    return epoch % spacing == 0;
}

/* The smallest epoch after `epoch` that sw_retention_keeps(_, newest, recent) keeps, or
 * newest + 1 when there is none: walks the kept epochs in O(log) steps each (the shim lists
 * what it kept at the last thinning this way, and which stack logs a kept epoch still names). */
static inline uint64_t sw_retention_next_kept(uint64_t epoch, uint64_t newest, uint64_t recent) {
    uint64_t c = epoch + 1;
    while (c <= newest) {
        if (sw_retention_keeps(c, newest, recent)) return c;
        uint64_t age = newest - c, spacing = 1;
        while (spacing * 2 * recent <= age) spacing *= 2;
        /* the next multiple of this band's spacing, or the next younger band's first epoch
         * (its spacing is half), whichever comes first */
        uint64_t up = (c / spacing + 1) * spacing, band = newest - spacing * recent + 1;
        c = up < band ? up : band;
    }
    return newest + 1;
}

/* Disk budget (SWHEAP_MAX_BYTES): the default, sized for a month of a busy service at the
 * default rate and interval (docs/FORMAT.md, Retention), and the share of it one stack log
 * may grow to before the shim starts a new one. */
#define SW_DEFAULT_KEEP 1024u
#define SW_DEFAULT_MAX_BYTES 268435456ull /* 256 MiB */
/* SWHEAP_SCAN_MAX_BYTES: the most memory the conservative exit scan reads (it reads every
 * writable mapping: up to 5 ms per MiB, docs/BENCHMARKS.md); past it the scan is skipped. */
#define SW_DEFAULT_SCAN_MAX_BYTES 268435456ull /* 256 MiB */
/* SWHEAP_SCAN_INTERVAL: seconds between live scans. A scan stops the program's threads for
 * some 25-30 ms per GiB resident and costs its copy about 0.4 s of CPU per GiB of heap, so
 * every ten minutes keeps it under 0.1% of a core (docs/BENCHMARKS.md, "Live scans"). */
#define SW_DEFAULT_SCAN_INTERVAL_S 600u
#define SW_LOG_ROTATE_SHARE 64u           /* a log is rotated past max_bytes / 64 of growth */

/* The sampling law behind every estimate (docs/FORMAT.md, "Estimates"): at mean rate R an
 * allocation of `size` bytes is charged size + 1 bytes (so empty blocks count) and sampled with
 * probability 1 - exp(-(size + 1)/R); a sample stands for 1/p objects and size/p bytes. R = 1
 * records everything. The shim samples by it, the ranking's noise model and the simulator
 * read it from here. */
static inline double sw_sample_probability(double size, double rate) {
    return rate > 1 ? -expm1(-(size + 1) / rate) : 1;
}

/* Bounds every field obeys (the shim enforces them when it reads its settings, the reader
 * rejects a file that breaks one). */
#define SW_FORMAT_MAX_DEPTH 128u                /* frames in one stack */
#define SW_FORMAT_MAX_RATE 1099511627776ull     /* 1 TiB between samples */
#define SW_FORMAT_MAX_ESTIMATE 18446744073709551616.0 /* 2^64: any object or byte estimate */

#define SW_FORMAT_HEADER_SIZE 72u
#define SW_FORMAT_SECTION_SIZE 16u
#define SW_FORMAT_SEGMENT_SIZE 32u
#define SW_FORMAT_STACK_SIZE 24u
#define SW_FORMAT_LIVE_SIZE 40u
#define SW_FORMAT_LOG_HEADER_SIZE 32u
#define SW_FORMAT_LOG_CHUNK_SIZE 24u
#define SW_FORMAT_STACK_FRAMES_SIZE 8u
#define SW_FORMAT_ALLOC_SIZE 24u
#define SW_FORMAT_COHORT_SIZE 48u
#define SW_FORMAT_THREADS_SIZE 16u
#define SW_FORMAT_THREAD_SITE_SIZE 48u
#define SW_FORMAT_ATTACH_SIZE 32u
#define SW_FORMAT_MEMORY_SIZE 152u /* version 1 */
#define SW_FORMAT_SCAN_SIZE 40u
#define SW_FORMAT_HOLDER_SIZE 32u
#define SW_FORMAT_STEP_SIZE 40u
#define SW_FORMAT_COMPONENT_SIZE 8u

#if !defined(__cplusplus) && !defined(__swift__)
_Static_assert(sizeof(sw_format_header) == SW_FORMAT_HEADER_SIZE, "header layout");
_Static_assert(offsetof(sw_format_header, epoch) == 24, "header layout");
_Static_assert(offsetof(sw_format_header, start_ns) == 48, "header layout");
_Static_assert(offsetof(sw_format_header, max_depth) == 64, "header layout");
_Static_assert(sizeof(sw_format_section) == SW_FORMAT_SECTION_SIZE, "section layout");
_Static_assert(sizeof(sw_format_segment) == SW_FORMAT_SEGMENT_SIZE, "segment layout");
_Static_assert(sizeof(sw_format_stack) == SW_FORMAT_STACK_SIZE, "stack layout");
_Static_assert(sizeof(sw_format_live) == SW_FORMAT_LIVE_SIZE, "live layout");
_Static_assert(sizeof(sw_format_log_header) == SW_FORMAT_LOG_HEADER_SIZE, "log header layout");
_Static_assert(sizeof(sw_format_log_chunk) == SW_FORMAT_LOG_CHUNK_SIZE, "log chunk layout");
_Static_assert(sizeof(sw_format_stack_frames) == SW_FORMAT_STACK_FRAMES_SIZE, "stack frames layout");
_Static_assert(sizeof(sw_format_alloc) == SW_FORMAT_ALLOC_SIZE, "alloc layout");
_Static_assert(sizeof(sw_format_cohort) == SW_FORMAT_COHORT_SIZE, "cohort layout");
_Static_assert(sizeof(sw_format_threads) == SW_FORMAT_THREADS_SIZE, "threads layout");
_Static_assert(sizeof(sw_format_thread_site) == SW_FORMAT_THREAD_SITE_SIZE, "thread site layout");
_Static_assert(offsetof(sw_format_thread_site, running) == 8, "thread site layout");
_Static_assert(sizeof(sw_format_attach) == SW_FORMAT_ATTACH_SIZE, "attach layout");
_Static_assert(sizeof(sw_format_memory) == SW_FORMAT_MEMORY_SIZE, "memory layout");
_Static_assert(offsetof(sw_format_memory, rss_bytes) == 16, "memory layout");
_Static_assert(offsetof(sw_format_memory, arenas) == 64, "memory layout");
_Static_assert(offsetof(sw_format_memory, sampled_live_bytes) == 80, "memory layout");
_Static_assert(offsetof(sw_format_memory, raw) == 88, "memory layout");
_Static_assert(sizeof(sw_format_scan) == SW_FORMAT_SCAN_SIZE, "scan layout");
_Static_assert(sizeof(sw_format_holder) == SW_FORMAT_HOLDER_SIZE, "holder layout");
_Static_assert(sizeof(sw_format_step) == SW_FORMAT_STEP_SIZE, "step layout");
_Static_assert(sizeof(sw_format_component) == SW_FORMAT_COMPONENT_SIZE, "component layout");
_Static_assert(sizeof(SW_FORMAT_MAGIC) - 1 == SW_FORMAT_MAGIC_SIZE, "magic");
_Static_assert(sizeof(SW_LOG_MAGIC) - 1 == SW_FORMAT_MAGIC_SIZE, "log magic");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the format is little-endian, written in host order");
#endif

#endif
