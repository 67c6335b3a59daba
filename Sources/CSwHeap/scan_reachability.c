/* The exit scan with LeakSanitizer's semantics: stop the other threads, learn every chunk
 * of glibc's heap, check the sampled objects against it, then flood from the roots and
 * class each sampled object by whether the flood reached its chunk.
 * Roots: the writable segments of every module but this one (data, bss); each live
 * thread's registers, stack from its stack pointer up, static TLS and DTV; for the exiting
 * thread, the stack only from the caller of exit() (its frames below are dead); for a
 * thread that blocks the stop signal while asleep in a system call, its stack from the
 * stack pointer the kernel reports (no registers). Dynamic TLS and pthread keys'
 * second-level blocks are heap chunks reached from there. Not roots: the heap itself,
 * other anonymous memory, glibc's malloc state (the main arena is left out of libc's data:
 * its top and bins point at chunk headers, inside the previous chunk's payload; the tcache
 * header is never flooded), cached stacks of ended threads, and everything of the shim's. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "sw_os.h"
#include "sw_scan_heap.h"
#include "sw_scan_paths.h"
#include "sw_scan_keys.h"
#include "sw_scan_read.h"
#include "sw_scan_reachability.h"
#include "sw_state.h"
#include "sw_scan_threads.h"
#include "swheap_format.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <elf.h>
#include <libunwind.h>
#include <link.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_RANGES = 4096, MAX_SKIP = SW_LIVE_STRIPES + 64, MAX_TLS_MODULES = 64 };
#define STOP_TIMEOUT_NS 1000000000ull

typedef struct {
    sw_range *modules;
    size_t nmodules;
    uintptr_t exit_sp;             /* the caller of exit(): its stack pointer, 0 when unknown */
    uintptr_t exit_regs[8];        /* and its callee-saved registers */
    size_t nexit_regs;
    size_t tls_size;               /* glibc's static TLS size, 0 when unknown */
    size_t tls_below;              /* how far below the thread pointer the modules' static TLS begins, 0 when unknown */
    sw_range libc[4];              /* libc's writable segments, where the main arena lives */
    size_t nlibc;
    sw_range skip[MAX_SKIP];       /* the shim's own memory, the main arena */
    size_t nskip;
    sw_tls_module tls[MAX_TLS_MODULES]; /* modules' static TLS, to name a TLS holder */
    size_t ntls;
} sw_roots;

static int add_module(struct dl_phdr_info *info, size_t size, void *ctx) {
    (void)size;
    sw_roots *r = ctx;
    uintptr_t self = (uintptr_t)&sw;
    bool mine = false;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && self >= lo && self < lo + ph->p_memsz) mine = true;
    }
    if (mine) return 0; /* the shim's own data is not a root */
    for (int i = 0; i < info->dlpi_phnum && info->dlpi_tls_data && r->ntls < MAX_TLS_MODULES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_TLS)
            r->tls[r->ntls++] = (sw_tls_module){.image = info->dlpi_addr + ph->p_vaddr, .size = ph->p_memsz,
                                                .below_tp = sw_thread_pointer() - (uintptr_t)info->dlpi_tls_data};
    }
    for (int i = 0; i < info->dlpi_phnum && r->nmodules < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        r->modules[r->nmodules++] = (sw_range){lo, lo + ph->p_memsz};
        if (info->dlpi_name && strstr(info->dlpi_name, "/libc.so") && r->nlibc < 4)
            r->libc[r->nlibc++] = (sw_range){lo, lo + ph->p_memsz};
    }
    return 0;
}

static bool is_exit_function(const char *name) {
    return name && (strcmp(name, "exit") == 0 || strcmp(name, "_exit") == 0 || strcmp(name, "_Exit") == 0 ||
                    strcmp(name, "quick_exit") == 0);
}

/* The frame that called exit() (or _exit, _Exit, quick_exit, libc's or the shim's: the
 * outermost of them): everything below it on this stack is dead. */
static void find_exit_caller(sw_roots *r) {
    unw_context_t uc;
    unw_cursor_t c;
    if (unw_getcontext(&uc) != 0 || unw_init_local(&c, &uc) != 0) return;
    bool below_exit = false;
    for (int depth = 0; depth < 256 && unw_step(&c) > 0; depth++) {
        unw_word_t ip, sp;
        if (unw_get_reg(&c, UNW_REG_IP, &ip) != 0 || unw_get_reg(&c, UNW_REG_SP, &sp) != 0) return;
        Dl_info info;
        bool exiting = dladdr((void *)(ip - 1), &info) && is_exit_function(info.dli_sname);
        if (below_exit && !exiting) {
            below_exit = false;
            r->exit_sp = sp;
            r->nexit_regs = 0;
#if defined(__x86_64__)
            static const int saved[] = {UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12,
                                        UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15};
            for (size_t i = 0; i < sizeof saved / sizeof *saved; i++) {
                unw_word_t v;
                if (unw_get_reg(&c, saved[i], &v) == 0) r->exit_regs[r->nexit_regs++] = v;
            }
#endif
        }
        if (exiting) below_exit = true;
    }
}

static void add_skip(sw_roots *r, const void *p, size_t bytes);

/* glibc's main_arena (struct malloc_state, 2200 bytes since 2.26, `top` at offset 96),
 * found as the word in libc's data that holds the top chunk's address. */
static bool skip_main_arena(sw_roots *r, uintptr_t top, char *buffer, size_t cap) {
    if (!top) return true; /* no [heap]: nothing of the main arena points into chunks */
    for (size_t i = 0; i < r->nlibc; i++) {
        uintptr_t lo = r->libc[i].lo & ~(uintptr_t)7;
        for (; lo < r->libc[i].hi; lo += cap) {
            size_t len = r->libc[i].hi - lo < cap ? r->libc[i].hi - lo : cap;
            ssize_t got = sw_scan_read(buffer, lo, len);
            if (got <= 0) break;
            for (size_t k = 0; k + 8 <= (size_t)got; k += 8) {
                if (*(uintptr_t *)(buffer + k) != top) continue;
                uintptr_t arena = lo + k - 96;
                add_skip(r, (void *)arena, 2200);
                return true;
            }
        }
    }
    return false;
}

static void add_skip(sw_roots *r, const void *p, size_t bytes) {
    if (p && bytes && r->nskip < MAX_SKIP) r->skip[r->nskip++] = (sw_range){(uintptr_t)p, (uintptr_t)p + bytes};
}

static void sort_ranges(sw_range *a, size_t n) {
    for (size_t i = 1; i < n; i++) {
        sw_range x = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1].lo > x.lo) a[j] = a[j - 1], j--;
        a[j] = x;
    }
}

/* Roots [lo, hi) minus the shim's own memory. */
static void flood_except(sw_flood *f, const sw_roots *r, uintptr_t lo, uintptr_t hi) {
    for (size_t i = 0; i < r->nskip && lo < hi; i++) {
        if (r->skip[i].hi <= lo) continue;
        if (r->skip[i].lo >= hi) break;
        if (r->skip[i].lo > lo) sw_flood_range(f, lo, r->skip[i].lo);
        lo = r->skip[i].hi > lo ? r->skip[i].hi : lo;
    }
    if (lo < hi) sw_flood_range(f, lo, hi);
}

/* Static TLS and the thread descriptor around the thread pointer (x86-64: TLS below,
 * the descriptor above), within the mapping that holds them. A thread made by
 * pthread_create has its stack right below them, in the same mapping, nearer than glibc's
 * static TLS size (which counts the surplus kept for modules loaded later): the range starts
 * at the lowest module's block, and nothing below the stack pointer `sp` is live. */
static void flood_tls(sw_flood *f, const sw_roots *r, const sw_map_list *maps, uintptr_t tp, uintptr_t sp) {
    const sw_mapping *m = sw_maps_find(maps, tp);
    if (!m) return;
    uintptr_t floor = sp > m->lo && sp < tp ? sp : m->lo;
    if (!r->tls_size) {
        flood_except(f, r, floor, m->hi); /* size unknown: the whole mapping */
        return;
    }
    size_t below = r->tls_below ? r->tls_below : r->tls_size;
    uintptr_t lo = tp - below > floor && tp > below ? tp - below : floor;
    uintptr_t hi = m->hi - tp > r->tls_size + 4096 ? tp + r->tls_size + 4096 : m->hi;
    flood_except(f, r, lo, hi);
}

/* The DTV (glibc's dtv_t array: length at [-1], generation at [0], then {val, to_free}
 * per module): dynamic TLS blocks hang off it, and it may live outside the heap. */
static void flood_dtv(sw_flood *f, const sw_roots *r, uintptr_t tp) {
#if defined(__x86_64__)
    uintptr_t at = tp + sizeof(uintptr_t); /* tcbhead_t: tcb, dtv, self */
#else
    uintptr_t at = tp; /* tcbhead_t: dtv, private */
#endif
    uintptr_t dtv, length;
    if (sw_scan_read(&dtv, at, sizeof dtv) != sizeof dtv || dtv < 16) return;
    if (sw_scan_read(&length, dtv - 16, sizeof length) != sizeof length || length > 65536) return;
    flood_except(f, r, dtv - 16, dtv + (length + 1) * 16);
}

/* From the stack pointer up, as LSan does: the red zone below it holds what the last
 * callees pushed, stale copies more often than live data. */
static void flood_stack(sw_flood *f, const sw_roots *r, const sw_map_list *maps, uintptr_t sp) {
    const sw_mapping *m = sw_maps_find(maps, sp);
    if (m) flood_except(f, r, sp, m->hi);
}

static bool read_word(uintptr_t at, uintptr_t *out) {
    return sw_scan_read(out, at, sizeof *out) == sizeof *out;
}

/* The chunk holding each sampled object, or false when the walk disagrees with what the
 * shim knows. Another thread may have freed a few sampled objects between the snapshot and
 * the stop: up to MISSING_OK of them (chunk -1, verdict "referenced") are tolerated. */
static bool check_sampled(sw_chunk_index *ix, const sw_snapshot_entry *objects, size_t n, long *chunk_of, size_t *distinct) {
    size_t missing = 0, tolerated = n / 100 > 16 ? n / 100 : 16;
    *distinct = 0;
    for (size_t i = 0; i < n; i++) {
        long c = sw_chunk_at(ix, objects[i].ptr);
        if (c >= 0 && sw_snapshot_end(&objects[i]) > ix->end[c]) return false;
        chunk_of[i] = c;
        if (c < 0) {
            if (++missing > tolerated) return false;
            continue;
        }
        if (!(ix->reached[c] & 2)) (*distinct)++;
        ix->reached[c] |= 2;
    }
    /* As in LSan, a pointer one past a sampled object's requested end is not into it, but
     * for `new T[0]` of a T with a destructor: an 8-byte block holding the count 0 (the
     * array cookie), whose array starts right past it (LSan's IsSpecialCaseOfOperatorNew0). */
    for (size_t i = 0; i < n; i++) {
        if (chunk_of[i] < 0) continue;
        uintptr_t end = sw_snapshot_end(&objects[i]), cookie = 1;
        if (objects[i].size == sizeof cookie && read_word(objects[i].ptr, &cookie) && cookie == 0) end++;
        ix->end[chunk_of[i]] = end;
    }
    return true;
}

/* What the scan needs besides the roots once the others are stopped. */
typedef struct {
    sw_roots *r;
    sw_world *world;
    sw_snapshot_entry *objects;
    size_t n;
    bool *unreferenced;
    sw_scan_paths *paths; /* holders and components to find; may be NULL */
    bool live; /* on the writer thread, in a copy of the process: this thread is no root */
} sw_stopped_scan;

/* Learns the heap, checks the sampled objects against it and floods from the roots, with
 * every other thread stopped (or, live, in a copy of the process in which no other thread
 * runs). Takes no lock and calls nothing but system calls and the shim's own code. */
static bool scan_stopped(sw_stopped_scan *s, uint32_t *fallback) {
    sw_roots *r = s->r;
    sw_world *world = s->world;
    sw_map_list maps = {0};
    sw_chunk_index ix = {0};
    sw_flood f = {0};
    long *chunk_of = NULL;
    size_t chunk_of_bytes = ((s->n + 1) * sizeof(long) + 4095) & ~(size_t)4095;
    bool ok = sw_maps_read(&maps);
    if (!ok) *fallback = SW_FALLBACK_MAPS;
    if (ok && s->live) sw_scan_read_directly(&maps); /* only the copy scans live */

    /* The heap search also leaves out live threads' stacks: they hold no chunks. */
    sw_range walk_skip[MAX_SKIP + 1];
    size_t nwalk = r->nskip;
    memcpy(walk_skip, r->skip, r->nskip * sizeof *walk_skip);
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    const sw_mapping *m = ok ? sw_maps_find(&maps, here) : NULL;
    if (m) walk_skip[nwalk++] = (sw_range){m->lo, m->hi};
    for (size_t i = 0; ok && i < world->n && nwalk < MAX_SKIP + 1; i++) {
        if (!sw_world_stopped(world, i) && !sw_world_asleep(world, i)) continue;
        m = sw_maps_find(&maps, world->threads[i].sp);
        if (m) walk_skip[nwalk++] = (sw_range){m->lo, m->hi};
    }
    sort_ranges(walk_skip, nwalk);
    if (ok && !(ok = sw_heap_walk(&ix, &maps, walk_skip, nwalk))) *fallback = SW_FALLBACK_HEAP;
    chunk_of = ok ? sw_os_map(chunk_of_bytes, true) : NULL;
    if (ok && !chunk_of) ok = false, *fallback = SW_FALLBACK_MEMORY;
    size_t distinct = 0;
    if (ok && !(ok = check_sampled(&ix, s->objects, s->n, chunk_of, &distinct))) *fallback = SW_FALLBACK_SAMPLED;
    if (ok && !(ok = sw_flood_begin(&f, &ix, distinct))) *fallback = SW_FALLBACK_MEMORY;

    if (ok) {
        /* Roots are the list without the stacks, plus what the scan itself mapped. */
        add_skip(r, ix.start, ix.bytes);
        add_skip(r, ix.end, ix.bytes);
        add_skip(r, ix.reached, (ix.cap + 4095) & ~(size_t)4095);
        add_skip(r, chunk_of, chunk_of_bytes);
        add_skip(r, f.work, (ix.n + 1) * sizeof(size_t));
        add_skip(r, f.buffer, SW_SCAN_CHUNK);
        add_skip(r, f.windows, SW_FLOOD_WINDOW_BYTES);
        add_skip(r, maps.maps, maps.bytes);
        ok = skip_main_arena(r, ix.main_top, f.buffer, SW_SCAN_CHUNK);
        if (!ok) *fallback = SW_FALLBACK_ARENA;
        sort_ranges(r->skip, r->nskip);
    }
    if (ok) {
        if (s->paths) sw_flood_track_holders(&f); /* without it, verdicts all the same */
        sw_flood_root(&f, SW_HOLDER_GLOBAL, 0);
        for (size_t i = 0; i < r->nmodules; i++) flood_except(&f, r, r->modules[i].lo, r->modules[i].hi);
        if (!s->live) { /* the exiting thread: live from the caller of exit() up */
            uint32_t self = (uint32_t)syscall(SYS_gettid);
            uintptr_t sp = r->exit_sp ? r->exit_sp : here;
            sw_flood_root(&f, SW_HOLDER_TLS, self); /* first: a thread's TLS may lie atop its stack */
            flood_tls(&f, r, &maps, sw_thread_pointer(), sp);
            flood_dtv(&f, r, sw_thread_pointer());
            sw_flood_root(&f, SW_HOLDER_STACK, self);
            flood_stack(&f, r, &maps, sp);
            sw_flood_root(&f, SW_HOLDER_REGISTER, self);
            sw_flood_words(&f, r->exit_regs, r->nexit_regs);
        }
        for (size_t i = 0; i < world->n; i++) {
            sw_stopped_thread *t = &world->threads[i];
            uint32_t tid = (uint32_t)t->tid;
            sw_flood_root(&f, SW_HOLDER_STACK, tid);
            if (sw_world_asleep(world, i)) flood_stack(&f, r, &maps, t->sp); /* its TLS is at the top */
            if (!sw_world_stopped(world, i)) continue;
            sw_flood_root(&f, SW_HOLDER_TLS, tid);
            flood_tls(&f, r, &maps, t->tp, t->sp);
            flood_dtv(&f, r, t->tp);
            sw_flood_root(&f, SW_HOLDER_STACK, tid);
            flood_stack(&f, r, &maps, t->sp);
            sw_flood_root(&f, SW_HOLDER_REGISTER, tid);
            sw_flood_words(&f, t->regs, t->nregs);
        }
        sw_flood_drain(&f);
        for (size_t i = 0; i < s->n; i++) s->unreferenced[i] = chunk_of[i] >= 0 && !(ix.reached[chunk_of[i]] & 1);
        sw_path_names names = {.world = world, .self_tid = s->live ? 0 : (uint32_t)syscall(SYS_gettid),
                               .self_sp = r->exit_sp ? r->exit_sp : here, .tls = r->tls, .ntls = r->ntls, .maps = &maps};
        if (s->paths) sw_scan_paths_fill(s->paths, &f, chunk_of, s->objects, s->n, s->unreferenced, &names);
    }
    sw_flood_end(&f);
    if (chunk_of) sw_os_unmap(chunk_of, chunk_of_bytes);
    sw_chunk_index_free(&ix);
    sw_scan_read_directly(NULL);
    sw_maps_free(&maps);
    return ok;
}

/* ---- The live scan: a copy of the process does the work ----------------------------- */

/* Shared between the writer thread and the copy: the copy's verdicts, then `n` flags. */
typedef struct {
    uint32_t ok;
    uint32_t fallback;
} sw_child_result;

#define CHILD_TIMEOUT_NS (600ull * 1000000000ull)

/* In the copy: a process of one thread (this one), every other thread's registers already
 * captured. A fault must end the copy, not run the program's handler; the copy must not
 * outlive the writer thread that waits for it. Leaves by exit_group, never returns. */
static __attribute__((noreturn)) void scan_in_copy(sw_stopped_scan *s, sw_child_result *result) {
    static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (size_t i = 0; i < sizeof faults / sizeof *faults; i++) sigaction(faults[i], &dfl, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sw_scan_read_without_pinning();
    uint32_t fallback = SW_FALLBACK_NONE;
    bool ok = scan_stopped(s, &fallback);
    result->fallback = fallback;
    __atomic_store_n(&result->ok, ok ? 1u : 0u, __ATOMIC_RELEASE);
    syscall(SYS_exit_group, 0);
    __builtin_unreachable();
}

/* Whether a seccomp filter is on (/proc/self/status "Seccomp: 2"): a service confined by one
 * (systemd's SystemCallFilter=) may be killed for a fork it never meant to make, so it is not
 * copied. Read, not asked with prctl, which such a filter may refuse as well. */
static bool under_seccomp_filter(void) {
    char buf[4096];
    int fd = sw_os_open(AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return true; /* cannot tell: do not risk it */
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0) return true;
    buf[got] = 0;
    const char *field = strstr(buf, "\nSeccomp:");
    if (!field) return false; /* a kernel without seccomp */
    field += 9;
    while (*field == ' ' || *field == '\t') field++;
    return *field != '0';
}

/* Copies the process (fork without fork handlers, and no SIGCHLD: the program neither sees
 * nor reaps it), lets the others run on at once and waits for the copy's verdicts. */
static bool scan_live(sw_stopped_scan *s, uint64_t stop_began, sw_scan_timing *timing, uint32_t *fallback) {
    bool *unreferenced = s->unreferenced;
    /* the result, then the flags; the paths are shared memory of their own (sw_scan_paths_init) */
    size_t shared_bytes = (sizeof(sw_child_result) + s->n + 4095) & ~(size_t)4095;
    char *shared = mmap(NULL, shared_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        timing->pause_ns = sw_world_release(s->world) - stop_began;
        *fallback = SW_FALLBACK_MEMORY;
        return false;
    }
    sw_child_result *result = (sw_child_result *)shared;
    bool *copy_unreferenced = (bool *)(result + 1);
    s->unreferenced = copy_unreferenced;
    if (s->paths && !s->paths->shared) s->paths = NULL; /* the copy's would be lost */
    add_skip(s->r, shared, shared_bytes);
    pid_t parent = getpid();
    long child = syscall(SYS_clone, 0ul, NULL, NULL, NULL, NULL);
    if (child == 0) {
        if (getppid() != parent) syscall(SYS_exit_group, 1);
        scan_in_copy(s, result);
    }
    timing->pause_ns = sw_world_release(s->world) - stop_began;
    bool ok = false;
    *fallback = SW_FALLBACK_COPY;
    if (child > 0) {
        uint64_t deadline = sw_now_ns(CLOCK_MONOTONIC) + CHILD_TIMEOUT_NS;
        int status = 0;
        pid_t got;
        struct timespec slice = {0, 2 * 1000 * 1000};
        struct rusage usage = {0};
        while ((got = (pid_t)wait4((pid_t)child, &status, __WALL | WNOHANG, &usage)) == 0 &&
               sw_now_ns(CLOCK_MONOTONIC) < deadline)
            nanosleep(&slice, NULL);
        if (got == 0) { /* out of time: end it */
            kill((pid_t)child, SIGKILL);
            got = (pid_t)wait4((pid_t)child, &status, __WALL, &usage);
        }
        timing->cpu_ns = (uint64_t)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000ull +
                         (uint64_t)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000ull;
        if (got == child && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            ok = __atomic_load_n(&result->ok, __ATOMIC_ACQUIRE) == 1;
            *fallback = result->fallback;
            if (ok) memcpy(unreferenced, copy_unreferenced, s->n);
        }
    }
    munmap(shared, shared_bytes);
    return ok;
}

bool sw_scan_reachability(sw_snapshot_entry *objects, size_t n, bool *unreferenced, sw_scan_paths *paths, bool live, sw_scan_timing *timing, uint32_t *fallback) {
    sw_roots r = {0};
    size_t module_bytes = MAX_RANGES * sizeof(sw_range);
    r.modules = sw_os_map(module_bytes, false);
    *fallback = SW_FALLBACK_MEMORY;
    *timing = (sw_scan_timing){0};
    if (!r.modules) return false;
    if (live && under_seccomp_filter()) {
        sw_os_unmap(r.modules, module_bytes);
        *fallback = SW_FALLBACK_SECCOMP;
        return false;
    }
    /* Everything that may take the loader's lock happens before the others are stopped. */
    dl_iterate_phdr(add_module, &r);
    if (paths) sw_keys_learn(); /* and the key lock */
    if (!live) find_exit_caller(&r);
    void (*tls_info)(size_t *, size_t *) = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
    if (tls_info) {
        size_t align;
        tls_info(&r.tls_size, &align);
    }
    for (size_t i = 0; i < r.ntls; i++) /* dynamic TLS (a module loaded later) is a heap block, not here */
        if (r.tls[i].below_tp <= r.tls_size && r.tls[i].below_tp > r.tls_below) r.tls_below = r.tls[i].below_tp;

    sw_world world;
    uint64_t began = sw_now_ns(CLOCK_MONOTONIC), cpu_began = sw_now_ns(CLOCK_THREAD_CPUTIME_ID);
    bool ok = sw_world_stop(&world, STOP_TIMEOUT_NS, live);
    if (!ok) *fallback = world.failure;

    /* The shim's own memory: never a root, never searched for chunks. */
    r.nskip += sw_state_own_memory(r.skip + r.nskip, MAX_SKIP - r.nskip);
    add_skip(&r, objects, n * sizeof *objects);
    add_skip(&r, unreferenced, n);
    add_skip(&r, r.modules, module_bytes);
    add_skip(&r, world.threads, world.bytes);
    if (paths) add_skip(&r, paths->base, paths->bytes);
    sw_stopped_scan s = {.r = &r, .world = &world, .objects = objects, .n = n, .unreferenced = unreferenced,
                         .paths = paths && paths->base ? paths : NULL, .live = live};
    if (ok && live) {
        ok = scan_live(&s, began, timing, fallback);
    } else {
        if (ok) ok = scan_stopped(&s, fallback);
        timing->pause_ns = sw_world_release(&world) - began;
        timing->cpu_ns = sw_now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_began;
    }
    timing->duration_ns = sw_now_ns(CLOCK_MONOTONIC) - began;
    sw_os_unmap(r.modules, module_bytes);
    if (ok) *fallback = SW_FALLBACK_NONE;
    return ok;
}
