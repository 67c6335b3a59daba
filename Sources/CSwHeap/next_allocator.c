/* The allocator underneath: the next definition of each entry point after this library
 * (dlsym(RTLD_NEXT)), so a program keeps jemalloc, tcmalloc or mimalloc, linked or preloaded
 * after swheap, instead of being moved onto glibc. The idea of serving dlsym's own
 * allocations from a static buffer is heaptrack's (src/track/heaptrack_preload.cpp).
 *
 * Every pointer in sw_next starts at a resolver: the first call through any of them looks all
 * of them up, then goes on to the real one, so the hooks' fast paths call through a pointer
 * with no "resolved yet?" test. While this thread is looking them up (dlsym may allocate),
 * allocations come from the bootstrap buffer. Bootstrap blocks are never given to the real
 * allocator: each is marked in the live table's filter, so its free takes the slow path,
 * which drops it (sw_next_owns). */
#define _GNU_SOURCE
#include "sw_live.h"
#include "sw_next_allocator.h"
#include "sw_state.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *resolve_malloc(size_t size);
static void resolve_free(void *p);
static void *resolve_calloc(size_t n, size_t size);
static void *resolve_realloc(void *p, size_t size);
static int resolve_posix_memalign(void **out, size_t alignment, size_t size);
static void *resolve_aligned_alloc(size_t alignment, size_t size);
static void *resolve_memalign(size_t alignment, size_t size);
static void *resolve_valloc(size_t size);
static void *resolve_pvalloc(size_t size);

sw_next_allocator sw_next = {
    .malloc = resolve_malloc,
    .free = resolve_free,
    .calloc = resolve_calloc,
    .realloc = resolve_realloc,
    .posix_memalign = resolve_posix_memalign,
    .aligned_alloc = resolve_aligned_alloc,
    .memalign = resolve_memalign,
    .valloc = resolve_valloc,
    .pvalloc = resolve_pvalloc,
};

/* The bootstrap buffer: a bump allocator, each block after a 16-byte header holding its size;
 * the blocks' starts are kept so a forked child can mark them again. */
enum { BOOT_BYTES = 64 * 1024, BOOT_HEADER = 16, BOOT_BLOCKS = 256 };
static _Alignas(4096) unsigned char boot[BOOT_BYTES];
static size_t boot_used, boot_count;
static uintptr_t boot_starts[BOOT_BLOCKS];

/* Only the resolving thread allocates here (the others wait in resolve()): no lock needed. */
static void *boot_alloc(size_t size, size_t alignment) {
    if (alignment < BOOT_HEADER) alignment = BOOT_HEADER;
    if (alignment & (alignment - 1) || size > BOOT_BYTES || boot_count == BOOT_BLOCKS) return NULL;
    size_t start = (boot_used + BOOT_HEADER + alignment - 1) & ~(alignment - 1);
    size_t end = start + (size ? (size + 15) & ~(size_t)15 : 16);
    if (end > BOOT_BYTES) return NULL;
    boot_used = end;
    memcpy(boot + start - BOOT_HEADER, &size, sizeof size);
    boot_starts[boot_count++] = (uintptr_t)(boot + start);
    sw_live_pin(&sw_live_storage, (uintptr_t)(boot + start));
    return boot + start;
}

bool sw_next_owns(const void *p) {
    return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + BOOT_BYTES;
}

static size_t owned_size(const void *p) {
    size_t size;
    memcpy(&size, (const unsigned char *)p - BOOT_HEADER, sizeof size);
    return size;
}

void *sw_next_move_owned(void *p, size_t size) {
    void *q = sw_next.malloc(size);
    if (q) memcpy(q, p, owned_size(p) < size ? owned_size(p) : size);
    return q;
}

void sw_next_postfork_child(void) {
    /* The child's live table starts empty, filter included: mark the bootstrap blocks again. */
    for (size_t i = 0; i < boot_count; i++) sw_live_pin(&sw_live_storage, boot_starts[i]);
}

static _Atomic int state;        /* 0 unresolved, 1 being resolved, 2 resolved */
static __thread int resolving __attribute__((tls_model("initial-exec")));
static bool glibc_underneath;

/* Attach mode looks the allocator up in the global scope: libswheap.so was loaded later
 * with RTLD_LOCAL, so the program's own definitions are the ones it binds to. */
static bool attach_mode;

void *sw_next_symbol(const char *name) { return dlsym(attach_mode ? RTLD_DEFAULT : RTLD_NEXT, name); }

static void *next_of(const char *name) { return sw_next_symbol(name); }

/* Looks every entry point up once. true: sw_next is complete; false: this thread is inside
 * the lookup, the caller serves itself from the bootstrap buffer. */
static bool resolve(void) {
    if (SW_LIKELY(atomic_load_explicit(&state, memory_order_acquire) == 2)) return true;
    if (resolving) return false;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&state, &expected, 1)) {
        while (atomic_load_explicit(&state, memory_order_acquire) != 2) sched_yield(); /* another thread resolves */
        return true;
    }
    resolving = 1;
    sw_next_allocator n;
    n.malloc = next_of("malloc");
    n.free = next_of("free");
    n.calloc = next_of("calloc");
    n.realloc = next_of("realloc");
    n.posix_memalign = next_of("posix_memalign");
    n.aligned_alloc = next_of("aligned_alloc");
    n.memalign = next_of("memalign");
    n.valloc = next_of("valloc");
    n.pvalloc = next_of("pvalloc");
    /* Is the allocator underneath glibc's own? Its malloc then lives in libc.so. */
    Dl_info info;
    glibc_underneath = n.malloc && dladdr((void *)n.malloc, &info) && info.dli_fname &&
                       strstr(info.dli_fname, "/libc.so") != NULL;
    if (!n.malloc || !n.free || !n.calloc || !n.realloc || !n.posix_memalign || !n.aligned_alloc || !n.memalign ||
        !n.valloc || !n.pvalloc) {
        /* No allocator after us: only possible without a dynamically linked libc, which
         * defines them all (an allocator lacking a rare one, such as jemalloc's pvalloc, gets
         * glibc's, as it would without swheap). Nothing sane is left to call. */
        static const char msg[] = "swheap: no allocator found after libswheap.so; cannot continue\n";
        ssize_t ignored = write(2, msg, sizeof msg - 1);
        (void)ignored;
        /* The raw call: _exit would be this library's own hook, which would try a dump. */
        for (;;) syscall(SYS_exit_group, 127);
    }
    sw_next = n;
    resolving = 0;
    atomic_store_explicit(&state, 2, memory_order_release);
    return true;
}

/* A definition, not the canonical PLT entry of an executable that takes the function's
 * address (dlsym returns that for a non-PIE program): calling it would come back through
 * the hooked GOT entry. */
static void *definition_of(const char *name) {
    void *p = dlsym(RTLD_DEFAULT, name);
    Dl_info info;
    if (!p || !dladdr(p, &info) || info.dli_saddr != p) return NULL;
    return p;
}

bool sw_next_resolve_attached(const char **missing) {
    static const char *const names[] = {"malloc", "free", "calloc", "realloc", "posix_memalign", "aligned_alloc",
                                        "memalign", "valloc", "pvalloc"};
    void *found[sizeof names / sizeof *names];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!(found[i] = definition_of(names[i]))) {
            *missing = names[i];
            return false;
        }
    sw_next_allocator n;
    n.malloc = (void *(*)(size_t))found[0];
    n.free = (void (*)(void *))found[1];
    n.calloc = (void *(*)(size_t, size_t))found[2];
    n.realloc = (void *(*)(void *, size_t))found[3];
    n.posix_memalign = (int (*)(void **, size_t, size_t))found[4];
    n.aligned_alloc = (void *(*)(size_t, size_t))found[5];
    n.memalign = (void *(*)(size_t, size_t))found[6];
    n.valloc = (void *(*)(size_t))found[7];
    n.pvalloc = (void *(*)(size_t))found[8];
    Dl_info info;
    glibc_underneath = dladdr((void *)n.malloc, &info) && info.dli_fname && strstr(info.dli_fname, "/libc.so") != NULL;
    attach_mode = true;
    sw_next = n;
    atomic_store_explicit(&state, 2, memory_order_release);
    return true;
}

bool sw_allocator_is_glibc(void) {
    resolve();
    return glibc_underneath;
}

static void *resolve_malloc(size_t size) {
    return resolve() ? sw_next.malloc(size) : boot_alloc(size, 16);
}

static void resolve_free(void *p) {
    if (resolve() && !sw_next_owns(p)) sw_next.free(p);
}

static void *resolve_calloc(size_t n, size_t size) {
    if (resolve()) return sw_next.calloc(n, size);
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) return NULL;
    return boot_alloc(total, 16); /* static memory is zero, and never reused */
}

static void *resolve_realloc(void *p, size_t size) {
    if (resolve()) return sw_next.realloc(p, size);
    void *q = boot_alloc(size, 16);
    if (q && p) memcpy(q, p, owned_size(p) < size ? owned_size(p) : size);
    return q;
}

static int resolve_posix_memalign(void **out, size_t alignment, size_t size) {
    if (resolve()) return sw_next.posix_memalign(out, alignment, size);
    void *p = boot_alloc(size, alignment);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

static void *resolve_aligned_alloc(size_t alignment, size_t size) {
    return resolve() ? sw_next.aligned_alloc(alignment, size) : boot_alloc(size, alignment);
}

static void *resolve_memalign(size_t alignment, size_t size) {
    return resolve() ? sw_next.memalign(alignment, size) : boot_alloc(size, alignment);
}

static void *resolve_valloc(size_t size) {
    return resolve() ? sw_next.valloc(size) : boot_alloc(size, 4096);
}

static void *resolve_pvalloc(size_t size) {
    return resolve() ? sw_next.pvalloc(size) : boot_alloc((size + 4095) & ~(size_t)4095, 4096);
}
