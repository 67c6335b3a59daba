/* The core of the swheap shim, as one API: everything except the allocator entry points
 * (Sources/CSwHeapPreload/hooks.c). libswheap.so and the SwiftPM unit tests compile the
 * same files. None of this allocates with malloc: memory comes from mmap so the shim never
 * recurses into the allocator it watches. Nothing here runs unless called: no constructors,
 * no threads, no signal handlers until sw_lifecycle_start (shim.h) is called by the hooks. */
#ifndef CSWHEAP_H
#define CSWHEAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- os memory ---------------------------------------------------------------- */

/* Anonymous private memory; NULL on failure. `reserve` maps without swap
 * reservation so large tables only cost what is touched. */
void *sw_os_map(size_t bytes, bool reserve);
void sw_os_unmap(void *p, size_t bytes);

/* A tiny test-and-test-and-set lock: no allocation, no futex bookkeeping. */
typedef struct { atomic_int held; } sw_lock;
void sw_lock_acquire(sw_lock *l);
void sw_lock_release(sw_lock *l);

/* Doubles kept as atomic bit patterns (C11 has no atomic floating-point add). */
void sw_atomic_add_double(_Atomic uint64_t *bits, double delta);
double sw_atomic_load_double(const _Atomic uint64_t *bits);

/* A clock reading in ns (CLOCK_MONOTONIC or CLOCK_REALTIME). */
uint64_t sw_now_ns(int clock);

/* A message on stderr, at most once per kind, without stdio or malloc:
 * "swheap: <what>: <detail>; <consequence>". */
typedef enum { SW_WARN_SETTING, SW_WARN_DIRECTORY, SW_WARN_DUMP, SW_WARN_THREAD, SW_WARN_MEMORY, SW_WARN_STACKS } sw_warning;
void sw_warn(sw_warning kind, const char *what, const char *detail, const char *consequence);

/* ---- sampler ------------------------------------------------------------------ */

/* Per-thread sampling state. Zero-initialised means "no countdown drawn yet". */
typedef struct {
    int64_t countdown;  /* bytes left before the next sample point */
    uint64_t rng;       /* xorshift64* state, seeded lazily */
    uint8_t drawn;      /* whether countdown holds a real draw */
} sw_sampler;

/* What one sampled allocation stands for. */
typedef struct {
    double objects;
    double bytes;
} sw_weight;

/* Exponential gap with mean `rate`: floor(-rate * ln(U)) + 1, U uniform in (0,1]. */
int64_t sw_sampler_draw(sw_sampler *s, uint64_t rate);

/* Called when `countdown - size <= 0`. Decides whether this allocation is sampled and
 * re-arms the countdown. rate 0: never again; rate 1: every allocation. */
bool sw_sampler_expired(sw_sampler *s, uint64_t size, uint64_t rate);

/* The countdown, charged on every allocation; the one copy of it (the hooks' fast paths
 * and sw_sampler_take both use it). The countdown is never negative: it is only stored
 * when the charge leaves it positive, or re-armed by sw_sampler_expired. So one unsigned
 * compare decides, and sizes of 2^63 and more expire it too instead of wrapping.
 * true: the countdown ran out (left untouched), the caller goes the slow way. */
static inline bool sw_countdown_charge(sw_sampler *s, uint64_t size) {
    uint64_t countdown = (uint64_t)s->countdown;
    if (__builtin_expect(size >= countdown, 0)) return true;
    s->countdown = (int64_t)(countdown - size);
    return false;
}

/* The whole decision, for tests and for callers that are not on the hot path. */
static inline bool sw_sampler_take(sw_sampler *s, uint64_t size, uint64_t rate) {
    if (!sw_countdown_charge(s, size)) return false;
    return sw_sampler_expired(s, size, rate);
}

/* Unbiased weight of a sample of `size` bytes: sampled with p = 1 - exp(-size/rate),
 * so it stands for 1/p objects and size/p bytes. rate 1 means exact: weight 1. */
sw_weight sw_sample_weight(uint64_t size, uint64_t rate);

/* ---- live table --------------------------------------------------------------- */

typedef struct {
    uintptr_t ptr;      /* 0 = empty slot, 1 = deleted slot */
    uint64_t size;
    uint32_t stack_id;
    uint32_t birth_epoch;
} sw_live_entry;

#define SW_LIVE_STRIPES 64
#define SW_FILTER_SLOTS (1u << 16)

typedef struct {
    sw_lock lock;
    uint32_t capacity;  /* power of two, 0 before first insert */
    uint32_t used;
    uint32_t deleted;
    sw_live_entry *slots;
    char pad[64 - sizeof(sw_lock) - 3 * sizeof(uint32_t) - sizeof(void *)];
} sw_live_stripe;

/* Live sampled allocations. A counting filter in front answers "certainly not sampled"
 * for a freed pointer in one load, without a lock; striped hash tables behind it. */
typedef struct {
    _Atomic uint8_t filter[SW_FILTER_SLOTS];
    sw_live_stripe stripes[SW_LIVE_STRIPES];
    atomic_int out_of_memory;
} sw_live_table;

sw_live_table *sw_live_create(void);
void sw_live_destroy(sw_live_table *t);
/* Forget every entry (a forked child starts clean). Caller holds no stripe lock. */
void sw_live_reset(sw_live_table *t);

/* Fibonacci hashing: the filter and the stripe use the product's top bits, which mix every
 * bit of p (malloc's zero low bits need no shift first). */
static inline uint64_t sw_live_hash(uintptr_t p) {
    return (uint64_t)p * 0x9E3779B97F4A7C15ull;
}
/* The filter counter of hash h: its top bits, so the index needs no extra mask. */
static inline uint32_t sw_live_filter_slot(uint64_t h) {
    return (uint32_t)(h >> (64 - 16)) & (SW_FILTER_SLOTS - 1);
}
static inline bool sw_live_maybe_contains(const sw_live_table *t, uintptr_t p) {
    return atomic_load_explicit(&t->filter[sw_live_filter_slot(sw_live_hash(p))], memory_order_relaxed) != 0;
}

/* false when the table could not grow (the sample is dropped). */
bool sw_live_insert(sw_live_table *t, uintptr_t p, uint64_t size, uint32_t stack_id, uint32_t birth_epoch);
/* Removes p if it is a live sampled allocation; fills *out when given. */
bool sw_live_remove(sw_live_table *t, uintptr_t p, sw_live_entry *out);
/* Number of live entries (racy snapshot). */
size_t sw_live_count(sw_live_table *t);
/* Visits every entry, one stripe locked at a time; stops early when visit returns false. */
void sw_live_foreach(sw_live_table *t, bool (*visit)(const sw_live_entry *, void *), void *ctx);
void sw_live_lock_all(sw_live_table *t);
void sw_live_unlock_all(sw_live_table *t);
/* fork: no stripe lock may be held across it; the child starts with an empty table. */
void sw_live_prefork(sw_live_table *t);
void sw_live_postfork_parent(sw_live_table *t);
void sw_live_postfork_child(sw_live_table *t);

/* ---- stack table -------------------------------------------------------------- */

#define SW_MAX_DEPTH 128

typedef struct {
    uint64_t hash;
    uint32_t id;
    uint32_t depth;
    _Atomic uint64_t alloc_objects; /* double bits: estimated objects allocated */
    _Atomic uint64_t alloc_bytes;   /* double bits: estimated bytes allocated */
    uintptr_t pcs[];
} sw_stack;

typedef struct {
    sw_lock lock;                 /* taken only to add a stack */
    _Atomic uint32_t *index;      /* open addressing: slot -> stack id, 0 = empty */
    uint32_t index_mask;
    sw_stack **by_id;             /* id -> record; ids 1..count are published */
    uint32_t max_ids;
    _Atomic uint32_t count;
    char *arena;
    size_t arena_used;
    size_t arena_capacity;
    atomic_int full;              /* set once a stack could not be added */
} sw_stack_table;

/* Stack id 1 is the empty stack; it also stands for stacks that did not fit. */
#define SW_STACK_UNKNOWN 1u

sw_stack_table *sw_stacks_create(uint32_t max_stacks, size_t arena_bytes);
void sw_stacks_destroy(sw_stack_table *t);
/* Returns the id of this stack, adding it if new. Lock-free when the stack is known. */
uint32_t sw_stacks_intern(sw_stack_table *t, const uintptr_t *pcs, uint32_t depth);
const sw_stack *sw_stacks_get(const sw_stack_table *t, uint32_t id);
uint32_t sw_stacks_count(const sw_stack_table *t);
void sw_stacks_add_weight(sw_stack_table *t, uint32_t id, sw_weight w);
/* Zero every stack's allocation totals (a forked child starts clean). */
void sw_stacks_reset_weights(sw_stack_table *t);
double sw_stacks_alloc_objects(const sw_stack *s);
double sw_stacks_alloc_bytes(const sw_stack *s);
/* fork: the add lock is not held across it; the child keeps the stacks (ids stay valid in
 * its copy of the live table's memory) but starts its allocation totals from zero. */
void sw_stacks_prefork(sw_stack_table *t);
void sw_stacks_postfork_parent(sw_stack_table *t);
void sw_stacks_postfork_child(sw_stack_table *t);

/* ---- output buffer ------------------------------------------------------------ */

/* A growable byte buffer in mmap'd memory. Once an allocation fails it stays failed and
 * ignores further writes, so writers check once at the end. Zero-initialised is empty. */
typedef struct sw_buffer {
    char *data;
    size_t len, capacity;
    bool failed;
} sw_buffer;
void sw_buf_put(sw_buffer *b, const void *bytes, size_t n);
void sw_buf_u32(sw_buffer *b, uint32_t v);
void sw_buf_u64(sw_buffer *b, uint64_t v);
void sw_buf_f64(sw_buffer *b, double v);
/* A format string: u32 length, then the bytes. */
void sw_buf_str(sw_buffer *b, const char *s, size_t n);
/* A section header with its length left 0; returns where the section starts. */
size_t sw_buf_begin_section(sw_buffer *b, uint32_t tag);
/* Patches the length of the section begun at `start` to the bytes written since. */
void sw_buf_end_section(sw_buffer *b, size_t start);
void sw_buf_free(sw_buffer *b);

/* ---- scan: which sampled objects nothing points to ----------------------------- */

/* A live sampled allocation as copied out of the live table for one dump. */
typedef struct {
    uintptr_t ptr;
    uint64_t size;
    uint32_t stack_id;
    uint32_t birth_epoch;
} sw_snapshot_entry;

/* One past the object's last byte. An object of size 0 still owns its first byte:
 * malloc(0) returns a unique pointer. */
static inline uintptr_t sw_snapshot_end(const sw_snapshot_entry *e) { return e->ptr + (e->size ? e->size : 1); }

typedef struct {
    uintptr_t lo, hi;
} sw_range;

/* The 4 KiB pages sampled objects occupy, as an open-addressing set: nearly every word of
 * memory that looks like a heap pointer points elsewhere, and one probe here rejects it
 * before the binary search over the objects. */
typedef struct {
    uintptr_t *slots; /* page number + 1; 0 = empty */
    size_t mask;
    size_t bytes;
} sw_page_set;

/* Room for `pages` distinct pages at most half full; false without memory. */
bool sw_page_set_init(sw_page_set *set, size_t pages);
void sw_page_set_add(sw_page_set *set, uintptr_t page);
bool sw_page_set_contains(const sw_page_set *set, uintptr_t page);
void sw_page_set_free(sw_page_set *set);

#define SW_SCAN_CHUNK ((size_t)1 << 20)

/* One mark phase over the sampled objects: roots are handed in as address ranges, and the
 * objects they reach are followed at once (so cycles of dropped objects stay unreferenced
 * and the scan can stop as soon as everything is reached). */
typedef struct {
    sw_snapshot_entry *objects; /* sorted by address by sw_scan_begin */
    size_t n;
    sw_page_set pages;
    bool *unreferenced;         /* per object, the verdict */
    size_t *worklist;
    size_t pending;
    size_t remaining;           /* objects not yet found referenced: at 0 the scan can stop */
    bool draining;
    uintptr_t min, max;
    char *chunk;                /* SW_SCAN_CHUNK bytes where memory is copied to be read */
} sw_scan;

/* Sorts `objects` by address, marks all unreferenced and maps the scan's buffers. false
 * when memory ran out: then every verdict is "referenced" (claim nothing) and the caller
 * skips the scan but still calls sw_scan_end. */
bool sw_scan_begin(sw_scan *s, sw_snapshot_entry *objects, size_t n, bool *unreferenced);
/* Index of the object containing address v (interior addresses count), or -1. */
long sw_scan_object_at(const sw_scan *s, uintptr_t v);
/* Treats [lo, hi) as roots: every aligned word that points into an object marks it
 * referenced, and what it points to in turn. Unreadable pages are skipped, never faulted. */
void sw_scan_root(sw_scan *s, uintptr_t lo, uintptr_t hi);
/* Roots [lo, hi) minus `skip` (sorted by lo, not overlapping). */
void sw_scan_root_except(sw_scan *s, uintptr_t lo, uintptr_t hi, const sw_range *skip, size_t nskip);
/* Unmaps the scan's buffers; the verdicts stay in `unreferenced`. */
void sw_scan_end(sw_scan *s);

/* ---- dump encoding ------------------------------------------------------------ */

/* Everything a dump holds besides the stack table and the live snapshot. */
typedef struct {
    uint32_t flags;           /* SW_FLAG_* of swheap_format.h */
    uint32_t pid, parent_pid;
    uint64_t epoch;
    uint64_t wall_ns, monotonic_ns, start_ns;
    uint64_t rate;            /* also weighs the live entries */
    uint32_t max_depth;
    const char *exe;          /* EXE section: the path, without terminator */
    size_t exe_len;
    const char *cmdline;      /* CMDLINE section body */
    size_t cmdline_len;
    const char *modules;      /* MODULES section body, as sw_modules_write makes it */
    size_t modules_len;
} sw_dump_meta;

/* Appends one complete dump to `out`: header, EXE, CMDLINE, MODULES, STACKS (every stack of
 * the table but an unused reserved one), LIVE (the entries summed per (stack, birth epoch),
 * unreferenced[i] adding entry i to the unreferenced figures when given), END.
 * Pure: no clock, no files, no globals. false when out of memory (out->failed). */
bool sw_encode_dump(sw_buffer *out, const sw_dump_meta *meta, const sw_stack_table *stacks,
                    const sw_snapshot_entry *entries, size_t n, const bool *unreferenced);

#endif
