/* Holders, paths and unreferenced components (sw_scan_paths.h). The flood keeps one
 * predecessor per reached chunk, so a referenced stack's path is read backwards from its
 * nearest block to the root. Components: from each unreferenced sampled block, the
 * unreferenced chunks it reaches, merged (union-find) wherever two such searches meet, as
 * LeakSanitizer tells direct from indirect leaks. Takes no lock, calls nothing but system
 * calls and the shim's own code: it runs in a copy of a threaded process. */
#define _GNU_SOURCE
#include "sw_os.h"
#include "sw_scan_keys.h"
#include "sw_scan_paths.h"
#include "sw_scan_read.h"

#include <string.h>
#include <sys/mman.h>

/* Components read unreferenced chunks the flood never read: at most as many bytes as the flood
 * did, or this floor (a dropped structure of a few MiB is always explored whole), so a program
 * that drops its whole heap at exit sees its scan at most doubled. */
#define COMPONENT_READ_FLOOR ((uint64_t)32 << 20)

static size_t page_round(size_t bytes) { return (bytes + 4095) & ~(size_t)4095; }

static void bind(sw_scan_paths *p, void *base) {
    size_t ids = (size_t)p->max_id + 1;
    p->base = base;
    p->holder = base;
    p->component = (sw_format_component *)(p->holder + ids);
    p->step = (sw_format_step *)(p->component + ids * SW_STACK_COMPONENTS);
    p->nsteps = (uint64_t *)(p->step + p->steps_cap);
}

bool sw_scan_paths_init(sw_scan_paths *p, const sw_snapshot_entry *entries, size_t n, bool shared) {
    *p = (sw_scan_paths){0};
    for (size_t i = 0; i < n; i++)
        if (entries[i].stack_id > p->max_id) p->max_id = entries[i].stack_id;
    size_t ids = (size_t)p->max_id + 1;
    p->steps_cap = (n < ids ? n : ids) * SW_PATH_STEPS;
    p->bytes = page_round(ids * (sizeof(sw_format_holder) + SW_STACK_COMPONENTS * sizeof(sw_format_component)) +
                          p->steps_cap * sizeof(sw_format_step) + sizeof(uint64_t));
    void *base = shared ? mmap(NULL, p->bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                        : sw_os_map(p->bytes, true);
    if (!base || base == MAP_FAILED) {
        *p = (sw_scan_paths){0};
        return false;
    }
    p->shared = shared;
    bind(p, base);
    return true;
}

void sw_scan_paths_free(sw_scan_paths *p) {
    if (p->base && p->shared) munmap(p->base, p->bytes);
    else if (p->base) sw_os_unmap(p->base, p->bytes);
    *p = (sw_scan_paths){0};
}

/* ---- What names a root ----------------------------------------------------------------- */

/* Whether `ret` follows a call instruction: a return address, not a stale code pointer. */
static bool after_call(const sw_map_list *maps, uintptr_t ret) {
    const sw_mapping *m = sw_maps_find(maps, ret);
    if (!m || !m->executable || !m->readable || ret - m->lo < 8) return false;
    uint8_t b[8]; /* the 8 bytes before ret */
    if (sw_scan_read(b, ret - 8, sizeof b) != sizeof b) return false;
#if defined(__x86_64__)
    if (b[3] == 0xe8) return true; /* call rel32 */
    /* call r/m64 (ff /2) of 2, 3, 6 or 7 bytes: register, disp8 or SIB, disp32 or RIP, SIB+disp32 */
    static const int at[] = {6, 5, 2, 1};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++)
        if (b[at[i]] == 0xff && (b[at[i] + 1] & 0x38) == 0x10) return true;
    return false;
#elif defined(__aarch64__)
    uint32_t insn;
    memcpy(&insn, b + 4, sizeof insn);
    return (insn & 0xfc000000u) == 0x94000000u || (insn & 0xfffffc1fu) == 0xd63f0000u; /* bl, blr */
#else
    return false;
#endif
}

static const sw_stopped_thread *thread_of(const sw_path_names *names, uint32_t tid) {
    for (size_t i = 0; i < names->world->n; i++)
        if ((uint32_t)names->world->threads[i].tid == tid) return &names->world->threads[i];
    return NULL;
}

/* The function whose frame holds stack word `at`: the nearest return address below it (the
 * call that function made), else, when the stack pointer is that near, the thread's program
 * counter (the innermost frame). Looks at most FRAME_SEARCH bytes below the word, read at once:
 * a word deep in a huge frame stays unnamed rather than cost a scan of the stack per stack. */
#define FRAME_SEARCH 65536
static uintptr_t frame_function(const sw_path_names *names, uintptr_t at, uintptr_t sp, uintptr_t pc) {
    static uintptr_t below[FRAME_SEARCH / sizeof(uintptr_t)]; /* the shim's own memory: no root */
    at &= ~(uintptr_t)(sizeof(uintptr_t) - 1);
    if (!sp || at < sp) return 0;
    uintptr_t from = at - sp > FRAME_SEARCH ? at - FRAME_SEARCH : sp;
    ssize_t got = sw_scan_read(below, from, at - from);
    if (got != (ssize_t)(at - from)) return 0;
    for (size_t i = (size_t)got / sizeof *below; i-- > 0;)
        if (after_call(names->maps, below[i])) return below[i];
    return from == sp ? pc : 0;
}

/* The holder's context (swheap_format.h); a TLS word that is a pthread key's value becomes a
 * KEY holder. */
static uintptr_t root_context(const sw_path_names *names, const sw_holder *h, uint32_t *kind) {
    bool self = h->tid == names->self_tid;
    const sw_stopped_thread *t = h->kind == SW_HOLDER_GLOBAL || self ? NULL : thread_of(names, h->tid);
    bool stopped = t && atomic_load(&((sw_stopped_thread *)t)->state) == 1;
    switch (h->kind) {
    case SW_HOLDER_STACK:
        if (self) return frame_function(names, h->address, names->self_sp, 0);
        return t ? frame_function(names, h->address, t->sp, stopped ? t->pc : 0) : 0;
    case SW_HOLDER_REGISTER: return stopped ? t->pc : 0;
    case SW_HOLDER_TLS: {
        uintptr_t tp = self ? sw_thread_pointer() : stopped ? t->tp : 0;
        uint64_t key;
        if (tp && sw_key_at(tp, h->address, &key)) {
            *kind = SW_HOLDER_KEY;
            return key;
        }
        for (size_t i = 0; tp && i < names->ntls; i++) {
            uintptr_t block = tp - names->tls[i].below_tp;
            if (h->address >= block && h->address - block < names->tls[i].size) return names->tls[i].image + (h->address - block);
        }
        return 0;
    }
    default: return 0;
    }
}

/* ---- Paths ------------------------------------------------------------------------------ */

/* What paths may cost, whatever the heap: predecessors followed, and bytes read again to find
 * offsets (a path through a 1 GiB array must not read it once per stack). */
typedef struct {
    uint64_t links;
    uint64_t bytes;
} path_budget;
#define PATH_LINKS_MAX ((uint64_t)1 << 26)
#define PATH_BYTES_MAX ((uint64_t)64 << 20)

/* Where in chunk `from` the first word pointing into chunk `to` lies (its payload offset);
 * SW_STEP_OFFSET_UNKNOWN once the budget is spent. */
static uint64_t offset_to(sw_flood *f, size_t from, size_t to, path_budget *budget) {
    const sw_chunk_index *ix = f->ix;
    uintptr_t lo = ix->start[from], hi = ix->end[from];
    for (uintptr_t at = lo; at < hi;) {
        size_t want = hi - at < SW_SCAN_CHUNK ? hi - at : SW_SCAN_CHUNK;
        if (budget->bytes < want) return SW_STEP_OFFSET_UNKNOWN;
        budget->bytes -= want;
        ssize_t got = sw_scan_read(f->buffer, at, want);
        if (got <= 0) break;
        const uintptr_t *w = (const uintptr_t *)f->buffer;
        for (size_t i = 0; i < (size_t)got / sizeof *w; i++)
            if (sw_chunk_pointed_at(ix, w[i]) == (long)to) return at + i * sizeof *w - lo;
        at += (size_t)got;
    }
    return SW_STEP_OFFSET_UNKNOWN;
}

/* Slot of path place `index` among a path's recorded steps (-1: left out). */
static long slot_of(uint32_t index, uint32_t depth) {
    if (depth <= SW_PATH_STEPS) return index;
    if (index < SW_PATH_STEPS / 2) return index;
    if (index >= depth - SW_PATH_STEPS / 2) return (long)(index - (depth - SW_PATH_STEPS));
    return -1;
}

static void fill_path(sw_scan_paths *p, sw_flood *f, const uint32_t *object_in, const sw_snapshot_entry *objects,
                      uint32_t stack_id, size_t c, path_budget *budget) {
    p->holder[stack_id].depth = f->depth[c]; /* at most 65535: the count when the walk is over budget */
    if (budget->links < 2 * (uint64_t)f->depth[c] + 2) return;
    uint32_t depth = 0;
    for (uint32_t at = f->pred[c]; at; at = f->pred[at - 1]) depth++;
    budget->links -= 2 * (uint64_t)depth;
    p->holder[stack_id].depth = depth;
    uint32_t kept = depth < SW_PATH_STEPS ? depth : SW_PATH_STEPS;
    if (!kept || *p->nsteps + kept > p->steps_cap) return;
    sw_format_step *steps = p->step + *p->nsteps;
    size_t next = c;
    uint32_t index = depth;
    for (uint32_t at = f->pred[c]; at; next = at - 1, at = f->pred[at - 1]) {
        long slot = slot_of(--index, depth);
        if (slot < 0) continue;
        size_t chunk = at - 1;
        uint32_t object = object_in[chunk];
        steps[slot] = (sw_format_step){.stack_id = stack_id, .index = index,
                                       .block_stack = object ? objects[object - 1].stack_id : 0,
                                       .address = f->ix->start[chunk], .size = f->ix->end[chunk] - f->ix->start[chunk],
                                       .offset = offset_to(f, chunk, next, budget)};
    }
    *p->nsteps += kept;
}

static void fill_paths(sw_scan_paths *p, sw_flood *f, const long *chunk_of, const sw_snapshot_entry *objects, size_t n,
                       const bool *unreferenced, const sw_path_names *names) {
    size_t ids = (size_t)p->max_id + 1, chunks = f->ix->n + 1;
    size_t best_bytes = page_round(ids * sizeof(uint32_t)), in_bytes = page_round(chunks * sizeof(uint32_t));
    uint32_t *best = sw_os_map(best_bytes, true);   /* per stack: its nearest chunk + 1 */
    uint32_t *object_in = sw_os_map(in_bytes, true); /* per chunk: its sampled object + 1 */
    path_budget budget = {PATH_LINKS_MAX, PATH_BYTES_MAX};
    if (best && object_in) {
        for (size_t i = 0; i < n; i++) {
            long c = chunk_of[i];
            if (c < 0) continue;
            object_in[c] = (uint32_t)i + 1;
            if (unreferenced[i] || !f->holder_of[c]) continue;
            uint32_t *b = &best[objects[i].stack_id];
            if (!*b || f->depth[c] < f->depth[*b - 1]) *b = (uint32_t)c + 1;
        }
        for (uint32_t id = 1; id < ids; id++) {
            if (!best[id]) continue;
            size_t c = best[id] - 1;
            const sw_holder *h = &f->holders[f->holder_of[c] - 1];
            uint32_t kind = h->kind;
            uintptr_t context = root_context(names, h, &kind);
            p->holder[id] = (sw_format_holder){.stack_id = id, .kind = kind, .tid = h->tid, .address = h->address,
                                               .context = context};
            fill_path(p, f, object_in, objects, id, c, &budget);
        }
    }
    if (best) sw_os_unmap(best, best_bytes);
    if (object_in) sw_os_unmap(object_in, in_bytes);
}

/* ---- Unreferenced components ------------------------------------------------------------- */

static uint32_t find(uint32_t *parent, uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
}

static void join(uint32_t *parent, uint32_t a, uint32_t b) {
    a = find(parent, a), b = find(parent, b);
    if (a < b) parent[b] = a;
    else if (b < a) parent[a] = b;
}

/* Labels every unreferenced chunk reachable from object `id`'s chunk c with `id`, joining the
 * components already labelled that it meets. */
static void explore(sw_flood *f, uint32_t *label, uint32_t *parent, size_t c, uint32_t id, uint64_t *budget) {
    const sw_chunk_index *ix = f->ix;
    size_t head = 0, tail = 0;
    label[c] = id;
    f->work[tail++] = c;
    while (head < tail && *budget) {
        size_t at_chunk = f->work[head++];
        size_t len = ix->end[at_chunk] - ix->start[at_chunk];
        const char *payload = sw_flood_payload(f, at_chunk); /* most chunks: no system call */
        for (uintptr_t at = ix->start[at_chunk]; at < ix->end[at_chunk] && *budget;) {
            ssize_t got = (ssize_t)len;
            if (!payload) {
                got = sw_scan_read(f->buffer, at, ix->end[at_chunk] - at < SW_SCAN_CHUNK ? ix->end[at_chunk] - at : SW_SCAN_CHUNK);
                if (got <= 0) break;
            }
            *budget = *budget > (uint64_t)got ? *budget - (uint64_t)got : 0;
            const uintptr_t *w = (const uintptr_t *)(payload ? payload : f->buffer);
            for (size_t i = 0; i < (size_t)got / sizeof *w; i++) {
                long t = sw_chunk_pointed_at(ix, w[i]);
                if (t < 0 || ix->reached[t] & 1) continue;
                if (label[t]) join(parent, label[t], id);
                else label[t] = id, f->work[tail++] = (size_t)t;
            }
            at += (size_t)got;
        }
    }
}

/* A stack keeps its smallest component numbers, sorted: stacks that share components (a
 * list's head and nodes, each list one component) keep the same ones, whatever the order
 * their blocks were listed in. */
static void keep_smallest(sw_format_component *slots, uint32_t stack_id, uint32_t component) {
    size_t k = 0;
    while (k < SW_STACK_COMPONENTS && slots[k].stack_id && slots[k].component < component) k++;
    if (k == SW_STACK_COMPONENTS || (slots[k].stack_id && slots[k].component == component)) return;
    for (size_t j = SW_STACK_COMPONENTS - 1; j > k; j--) slots[j] = slots[j - 1];
    slots[k] = (sw_format_component){.stack_id = stack_id, .component = component};
}

static void fill_components(sw_scan_paths *p, sw_flood *f, const long *chunk_of, const sw_snapshot_entry *objects,
                            size_t n, const bool *unreferenced) {
    size_t label_bytes = page_round((f->ix->n + 1) * sizeof(uint32_t)), parent_bytes = page_round((n + 1) * sizeof(uint32_t));
    uint32_t *label = sw_os_map(label_bytes, true);   /* per chunk: the object whose search reached it + 1 */
    uint32_t *parent = sw_os_map(parent_bytes, true); /* union-find over objects + 1 */
    uint64_t budget = f->bytes_read > COMPONENT_READ_FLOOR ? f->bytes_read : COMPONENT_READ_FLOOR;
    if (label && parent) {
        for (uint32_t i = 0; i <= n; i++) parent[i] = i;
        for (size_t i = 0; i < n; i++) {
            long c = chunk_of[i];
            if (!unreferenced[i] || c < 0) continue;
            if (label[c]) join(parent, label[c], (uint32_t)i + 1);
            else explore(f, label, parent, (size_t)c, (uint32_t)i + 1, &budget);
        }
        for (size_t i = 0; i < n; i++) {
            if (!unreferenced[i] || chunk_of[i] < 0) continue;
            uint32_t id = objects[i].stack_id, component = find(parent, (uint32_t)i + 1);
            keep_smallest(p->component + (size_t)id * SW_STACK_COMPONENTS, id, component);
        }
    }
    if (label) sw_os_unmap(label, label_bytes);
    if (parent) sw_os_unmap(parent, parent_bytes);
}

void sw_scan_paths_fill(sw_scan_paths *p, sw_flood *f, const long *chunk_of, const sw_snapshot_entry *objects,
                        size_t n, const bool *unreferenced, const sw_path_names *names) {
    if (!p->base) return;
    if (f->holder_of) fill_paths(p, f, chunk_of, objects, n, unreferenced, names);
    bool any = false;
    for (size_t i = 0; i < n && !any; i++) any = unreferenced[i] && chunk_of[i] >= 0;
    if (any) fill_components(p, f, chunk_of, objects, n, unreferenced);
}
