/* Stacks of sampled allocations. libunwind's unw_backtrace with a per-thread cache is the
 * default; SWHEAP_UNWIND=fp walks frame pointers, checked against the thread's stack so a
 * bad frame ends the walk instead of faulting. Frames inside this library are dropped. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "sw_modules.h"
#include "sw_scan_maps.h"
#include "sw_stack_cache.h"
#include "sw_stacks.h"
#include "sw_unwind.h"

#include <libunwind.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static __thread uintptr_t stack_lo, stack_hi __attribute__((tls_model("initial-exec")));
/* Set once at start-up, read by every unwind after. */
static uintptr_t self_lo, self_hi; /* this library's code, skipped when unwinding */
static bool use_frame_pointers;

void sw_unwind_init(bool frame_pointers) {
    use_frame_pointers = frame_pointers;
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    unw_set_cache_size(unw_local_addr_space, 1024, 0); /* the stack cache's misses step cursors: keep their frames' rules */
    sw_self_range((uintptr_t)&sw_unwind_init, &self_lo, &self_hi);
}

static bool in_self(uintptr_t pc) { return pc >= self_lo && pc < self_hi; }

/* This thread's stack: the mapping that holds the current frame, from /proc/self/maps read
 * with raw reads into mmap'd memory. Not pthread_getattr_np, which mallocs and frees (the main
 * thread's maps through stdio, every thread's CPU set): a sample taken before main would leave
 * the freed blocks' addresses in stack slots that main's frame later owns, and the exit scan
 * would take them for roots (docs/RELIABILITY.md). The main thread's stack may still grow
 * down to its limit, which counts as part of it, as pthread_getattr_np counts it. */
static void learn_stack_bounds(void) {
    sw_map_list maps = {0};
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (sw_maps_read(&maps)) {
        const sw_mapping *m = sw_maps_find(&maps, here);
        if (m) {
            stack_lo = m->lo;
            stack_hi = m->hi;
            struct rlimit limit;
            bool main_thread = m->kind == SW_MAP_STACK || syscall(SYS_gettid) == getpid(); /* valgrind names it not */
            if (main_thread && getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
                limit.rlim_cur < m->hi && m->hi - limit.rlim_cur < stack_lo)
                stack_lo = m->hi - limit.rlim_cur;
        }
        sw_maps_free(&maps);
    }
    if (!stack_hi) stack_hi = 1; /* unknown: frame walking and the stack cache stay off */
}

static uint32_t walk_frame_pointers(uintptr_t *pcs, uint32_t max) {
    if (!stack_hi) learn_stack_bounds();
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    uint32_t n = 0;
    /* Written so nothing can wrap: a garbage frame pointer near the top of the address
     * space (seen in clang++, built without frame pointers) must end the walk. */
    while (n < max && fp >= stack_lo && fp < stack_hi && stack_hi - fp >= 2 * sizeof(uintptr_t) && (fp & 7) == 0) {
        uintptr_t next = ((uintptr_t *)fp)[0];
        uintptr_t ret = ((uintptr_t *)fp)[1];
        if (!ret) break;
        pcs[n++] = ret;
        if (next <= fp) break; /* stacks grow down: callers live at higher addresses */
        fp = next;
    }
    return n;
}

bool sw_unwind_origin(sw_stack_origin *o, uintptr_t frame) {
    if (!stack_hi) learn_stack_bounds();
    /* Locals: the frame reads below could alias the globals, which would be reloaded. One
     * unsigned compare each tests both ends of a range. */
    const uintptr_t lo = stack_lo, span = stack_hi - stack_lo, self_from = self_lo, self_span = self_hi - self_lo;
    /* Only the shim's own frames are read: they keep frame pointers (scripts/lib/shim.sh), so
     * the first return address outside the shim is a few loads away. Each frame is still
     * checked to lie on this thread's stack. */
    if (span < 4096) return false; /* bounds unknown */
    uintptr_t fp = frame;
    for (int frames = 0; frames < 16; frames++) {
        if (fp - lo > span - 2 * sizeof(uintptr_t) || (fp & 7)) return false;
        uintptr_t next = ((const uintptr_t *)fp)[0], ret = ((const uintptr_t *)fp)[1];
        if (ret - self_from >= self_span) {
            *o = (sw_stack_origin){.ra = ret, .slot = fp + sizeof(uintptr_t), .stack_hi = lo + span};
            return ret != 0;
        }
        fp = next;
    }
    return false;
}

uint32_t sw_unwind_with_slots(uintptr_t *pcs, uintptr_t *slots, uint32_t max_depth) {
    unw_context_t context;
    unw_cursor_t cursor;
    if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0) return 0;
    uint32_t depth = 0;
    while (depth < max_depth && unw_step(&cursor) > 0) {
        unw_word_t ip, sp;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || unw_get_reg(&cursor, UNW_REG_SP, &sp) != 0) break;
        if (depth == 0 && in_self(ip)) continue;
        /* A call pushed ip just below the caller's stack pointer after the return. */
        pcs[depth] = ip;
        slots[depth] = sp - sizeof(uintptr_t);
        depth++;
    }
    while (depth > 0 && pcs[depth - 1] == 0) depth--;
    return depth;
}

uint32_t sw_unwind(uintptr_t *pcs, uint32_t max_depth) {
    enum { SLACK = 8 }; /* room for this library's own frames */
    void *raw[SW_MAX_DEPTH + SLACK];
    uint32_t want = max_depth + SLACK, n;
    if (use_frame_pointers) n = walk_frame_pointers((uintptr_t *)raw, want);
    else {
        int got = unw_backtrace(raw, (int)want);
        n = got > 0 ? (uint32_t)got : 0;
    }
    uint32_t skip = 0;
    while (skip < n && in_self((uintptr_t)raw[skip])) skip++;
    uint32_t depth = 0;
    for (uint32_t i = skip; i < n && depth < max_depth; i++) pcs[depth++] = (uintptr_t)raw[i];
    while (depth > 0 && pcs[depth - 1] == 0) depth--;
    return depth;
}
