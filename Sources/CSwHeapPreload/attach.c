/* Attach mode: libswheap.so loaded into a process that is already running, by `swheap
 * attach` (the injector, Sources/CSwHeapAttach), and taken out again by `swheap detach`.
 *
 * Loaded by dlopen, the library's malloc interposes nothing: every module already bound its
 * calls to the allocator. So the hooks are put in the modules' GOTs instead (heaptrack's
 * inject mode does the same, src/track/heaptrack_inject.cpp): every JUMP_SLOT, GLOB_DAT and
 * plain 64-bit relocation against an allocation entry point (malloc and friends, C++ new and
 * delete, _exit) in every loaded module but the dynamic loader is pointed at this library's
 * definition, which passes the call on to the program's own allocator as under LD_PRELOAD.
 * dlopen is hooked the same way so that modules loaded later are rewritten too.
 *
 * The injector calls swheap_attach(settings) on a thread it borrows at a safe point, and gives
 * the thread back as soon as it returns: swheap_attach only checks and prepares. A control
 * thread of this library then measures the heap already there, installs the hooks, starts
 * the writer, and polls `swheap_attach_control.request` every 50 ms; on a detach request it
 * puts every entry back, stops the writer after one last dump and ends. No thread of the
 * program is stopped for either.
 *
 * Blocks cross the boundary both ways: a block allocated before attach was never sampled,
 * so its free or realloc passes through (the live table's filter says "not sampled"); a block
 * sampled while attached and freed after detach leaves the table only at the next attach,
 * which starts with an empty one. The library is never unloaded (RTLD_NODELETE), so a
 * pointer to a hook the program kept stays callable after detach. */
#define _GNU_SOURCE
#include "sw_lifecycle.h"
#include "sw_memory.h"
#include "sw_next_allocator.h"
#include "sw_control.h"
#include "sw_os.h"
#include "sw_scan_maps.h"
#include "sw_state.h"
#include "swheap_attach.h"
#include "swheap_format.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>


static void set_state(uint32_t s) { __atomic_store_n(&swheap_attach_control.state, s, __ATOMIC_RELEASE); }
static uint32_t get_state(void) { return __atomic_load_n(&swheap_attach_control.state, __ATOMIC_ACQUIRE); }

static void say(const char *a, const char *b) {
    char *m = swheap_attach_control.message;
    size_t n = 0;
    for (const char *c = a; c && *c && n + 1 < SW_ATTACH_MESSAGE; c++) m[n++] = *c;
    for (const char *c = b; c && *c && n + 1 < SW_ATTACH_MESSAGE; c++) m[n++] = *c;
    m[n] = 0;
}

/* Warnings of the shim go to the attach command, not to the program's stderr. */
static void warn_to_control(const char *line) {
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n') n--;
    char copy[SW_ATTACH_MESSAGE];
    if (n >= sizeof copy) n = sizeof copy - 1;
    memcpy(copy, line, n);
    copy[n] = 0;
    say(copy, NULL);
}

/* ---- The GOT entries ------------------------------------------------------------------ */

/* What is hooked: each name with this library's definition (found at attach, by dlsym on
 * this library's own handle) and the definition the program binds it to (dlsym in the
 * global scope). Only entries holding that definition, or a lazy-binding stub of their own
 * module, are rewritten: an entry bound elsewhere (a DEEPBIND library's libc malloc under a
 * jemalloc program) keeps its allocator. */
static const char *const hooked_names[] = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc", "memalign", "valloc",
    "pvalloc", "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t", "_ZnwmSt11align_val_t",
    "_ZnamSt11align_val_t", "_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t", "_ZdlPv",
    "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t", "_ZdlPvSt11align_val_t",
    "_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t", "_ZdlPvSt11align_val_tRKSt9nothrow_t",
    "_ZdaPvSt11align_val_tRKSt9nothrow_t", "_exit", "_Exit", "dlopen",
};
enum { HOOKED = sizeof hooked_names / sizeof *hooked_names };
static uintptr_t hook_of[HOOKED], bound_to[HOOKED];

/* One rewritten entry; entries are grouped by module, in the order modules were rewritten. */
typedef struct {
    uintptr_t at, original;
    uint16_t name;
} patch;

typedef struct {
    uintptr_t base;
    const void *phdr; /* with base, names one loaded object (a reloaded one gets new phdrs) */
    uint32_t first, count;
} patched_module;

static pthread_mutex_t patch_lock = PTHREAD_MUTEX_INITIALIZER;
static patch *patches;
static size_t patch_count, patch_capacity;
static patched_module *modules;
static size_t module_count, module_capacity;
static unsigned long long seen_adds; /* dlpi_adds when the modules were last rewritten */
static bool hooks_wanted;           /* attached: new modules get the hooks too */

static bool grow(void **array, size_t *capacity, size_t item, size_t need) {
    if (need <= *capacity) return true;
    size_t cap = *capacity ? *capacity * 2 : 256;
    while (cap < need) cap *= 2;
    void *fresh = sw_os_map(cap * item, false);
    if (!fresh) return false;
    if (*array) {
        memcpy(fresh, *array, *capacity * item);
        sw_os_unmap(*array, *capacity * item);
    }
    *array = fresh;
    *capacity = cap;
    return true;
}

static int name_index(const char *name) {
    /* Every hooked name starts with one of "m f c r p a v _ d". */
    for (int i = 0; i < HOOKED; i++)
        if (name[0] == hooked_names[i][0] && strcmp(name, hooked_names[i]) == 0) return i;
    return -1;
}

/* A pointer from the dynamic section: glibc relocates them in place, the vdso's are not. */
static uintptr_t dyn_ptr(uintptr_t base, ElfW(Addr) value) { return value < base ? base + value : value; }

enum { MAX_WRITABLE = 8 };
typedef struct {
    uintptr_t lo, hi; /* the module's extent, for telling its own lazy-binding stubs */
    uintptr_t relro_lo, relro_hi;
    uintptr_t writable[MAX_WRITABLE][2]; /* its writable PT_LOAD segments (RELRO lies inside) */
    int writables;
} module_span;

static module_span span_of(const struct dl_phdr_info *info) {
    module_span s = {.lo = UINTPTR_MAX};
    long page = sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (ph->p_type == PT_LOAD) {
            if (lo < s.lo) s.lo = lo;
            if (hi > s.hi) s.hi = hi;
            if ((ph->p_flags & PF_W) && s.writables < MAX_WRITABLE) {
                s.writable[s.writables][0] = lo;
                s.writable[s.writables++][1] = hi;
            }
        } else if (ph->p_type == PT_GNU_RELRO) { /* as the loader protects it: whole pages only */
            s.relro_lo = lo & ~(uintptr_t)(page - 1);
            s.relro_hi = hi & ~(uintptr_t)(page - 1);
        }
    }
    return s;
}

/* Never a text relocation's target: only data the module can write (RELRO included). */
static bool writable_slot(const module_span *s, uintptr_t at) {
    if ((at & 7) != 0) return false;
    for (int i = 0; i < s->writables; i++)
        if (at >= s->writable[i][0] && at + 8 <= s->writable[i][1]) return true;
    return false;
}

static bool in_relro(const module_span *s, uintptr_t at) { return at >= s->relro_lo && at < s->relro_hi; }

/* Writes `value` at each entry (atomically: other threads call through them meanwhile),
 * making the RELRO pages writable around it. false when the pages could not be unprotected. */
static bool write_entries(const module_span *s, const patch *p, size_t n, bool restore) {
    bool relro = false;
    for (size_t i = 0; i < n; i++) relro |= in_relro(s, p[i].at);
    if (relro && mprotect((void *)s->relro_lo, s->relro_hi - s->relro_lo, PROT_READ | PROT_WRITE) != 0) return false;
    for (size_t i = 0; i < n; i++) {
        uintptr_t *slot = (uintptr_t *)p[i].at;
        uintptr_t hook = hook_of[p[i].name];
        if (restore) {
            /* Put back only what is still ours: something else may have rewritten it since. */
            uintptr_t expected = hook;
            __atomic_compare_exchange_n(slot, &expected, p[i].original, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
        } else {
            __atomic_store_n(slot, hook, __ATOMIC_RELEASE);
        }
    }
    if (relro) mprotect((void *)s->relro_lo, s->relro_hi - s->relro_lo, PROT_READ);
    return true;
}

static bool is_loader(const struct dl_phdr_info *info) {
    uintptr_t ld = getauxval(AT_BASE);
    return ld && info->dlpi_addr == ld;
}

static patched_module *find_module(const struct dl_phdr_info *info) {
    for (size_t i = 0; i < module_count; i++)
        if (modules[i].base == info->dlpi_addr && modules[i].phdr == info->dlpi_phdr) return &modules[i];
    return NULL;
}

/* Collects the entries of one module that hold a hooked function, then rewrites them. */
static void patch_module(struct dl_phdr_info *info) {
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dyn || is_loader(info) || find_module(info)) return;
    uintptr_t base = info->dlpi_addr, symtab = 0, strtab = 0, rela = 0, jmprel = 0;
    size_t relasz = 0, pltrelsz = 0, strsz = 0;
    long pltrel = DT_RELA;
    for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: symtab = dyn_ptr(base, d->d_un.d_ptr); break;
        case DT_STRTAB: strtab = dyn_ptr(base, d->d_un.d_ptr); break;
        case DT_STRSZ: strsz = d->d_un.d_val; break;
        case DT_RELA: rela = dyn_ptr(base, d->d_un.d_ptr); break;
        case DT_RELASZ: relasz = d->d_un.d_val; break;
        case DT_JMPREL: jmprel = dyn_ptr(base, d->d_un.d_ptr); break;
        case DT_PLTRELSZ: pltrelsz = d->d_un.d_val; break;
        case DT_PLTREL: pltrel = (long)d->d_un.d_val; break;
        }
    }
    if (!symtab || !strtab || pltrel != DT_RELA) return;
    if (!grow((void **)&modules, &module_capacity, sizeof *modules, module_count + 1)) return;
    module_span span = span_of(info);
    size_t first = patch_count;
    const struct { uintptr_t at; size_t size; } tables[] = {{rela, relasz}, {jmprel, pltrelsz}};
    for (size_t t = 0; t < 2; t++) {
        const ElfW(Rela) *r = (const ElfW(Rela) *)tables[t].at;
        for (size_t i = 0; r && i < tables[t].size / sizeof *r; i++) {
            unsigned type = ELF64_R_TYPE(r[i].r_info), sym = ELF64_R_SYM(r[i].r_info);
            if (sym == 0 || !(type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT || (type == R_X86_64_64 && r[i].r_addend == 0)))
                continue;
            const ElfW(Sym) *s = (const ElfW(Sym) *)symtab + sym;
            if (s->st_name >= strsz) continue;
            int k = name_index((const char *)strtab + s->st_name);
            if (k < 0 || !hook_of[k]) continue;
            uintptr_t at = base + r[i].r_offset;
            if (!writable_slot(&span, at)) continue;
            uintptr_t now = *(const uintptr_t *)at;
            /* A JUMP_SLOT not called yet holds its own module's PLT stub (lazy binding), unless
             * the module defines the symbol itself and is bound to that definition. */
            bool own = s->st_shndx != SHN_UNDEF && base + s->st_value == now;
            bool lazy_stub = type == R_X86_64_JUMP_SLOT && now >= span.lo && now < span.hi && !own;
            if (now == hook_of[k] || !(now == bound_to[k] || lazy_stub)) continue;
            if (!grow((void **)&patches, &patch_capacity, sizeof *patches, patch_count + 1)) goto out_of_memory;
            patches[patch_count++] = (patch){at, now, (uint16_t)k};
        }
    }
    if (!write_entries(&span, patches + first, patch_count - first, false)) {
        patch_count = first; /* RELRO could not be unprotected: this module keeps its bindings */
        return;
    }
    modules[module_count++] = (patched_module){base, info->dlpi_phdr, (uint32_t)first, (uint32_t)(patch_count - first)};
    return;
out_of_memory:
    patch_count = first;
}

static int patch_each(struct dl_phdr_info *info, size_t size, void *ctx) {
    (void)size, (void)ctx;
    seen_adds = info->dlpi_adds;
    patch_module(info);
    return 0;
}

static int adds_of(struct dl_phdr_info *info, size_t size, void *ctx) {
    (void)size;
    *(unsigned long long *)ctx = info->dlpi_adds;
    return 1;
}

/* Forgets modules that were unloaded (their entries went with them). Called with every
 * module still loaded marked in `alive`. */
static void drop_unloaded(const bool *alive) {
    size_t kept = 0, kept_patches = 0;
    for (size_t i = 0; i < module_count; i++) {
        if (!alive[i]) continue;
        patched_module m = modules[i];
        memmove(patches + kept_patches, patches + m.first, m.count * sizeof *patches);
        m.first = (uint32_t)kept_patches;
        kept_patches += m.count;
        modules[kept++] = m;
    }
    module_count = kept;
    patch_count = kept_patches;
}

static int mark_alive(struct dl_phdr_info *info, size_t size, void *ctx) {
    (void)size;
    patched_module *m = find_module(info);
    if (m) ((bool *)ctx)[m - modules] = true;
    return 0;
}

static void count_patches(void) {
    __atomic_store_n(&swheap_attach_control.patched, (uint32_t)patch_count, __ATOMIC_RELAXED);
}

/* Rewrites every module not rewritten yet (all of them at attach; new ones after a dlopen). */
static void patch_new_modules(void) {
    pthread_mutex_lock(&patch_lock);
    if (hooks_wanted) {
        size_t known = module_count;
        bool *alive = known ? sw_os_map(known, false) : NULL;
        if (alive) {
            dl_iterate_phdr(mark_alive, alive);
            drop_unloaded(alive);
            sw_os_unmap(alive, known);
        }
        dl_iterate_phdr(patch_each, NULL);
        count_patches();
    }
    pthread_mutex_unlock(&patch_lock);
}

static int unpatch_each(struct dl_phdr_info *info, size_t size, void *ctx) {
    (void)size, (void)ctx;
    patched_module *m = find_module(info);
    if (m) {
        module_span span = span_of(info);
        write_entries(&span, patches + m->first, m->count, true);
    }
    return 0;
}

/* Puts every entry of every module still loaded back (under the loader's lock, which
 * dl_iterate_phdr holds: no module can go away meanwhile). */
static void unpatch_all(void) {
    pthread_mutex_lock(&patch_lock);
    hooks_wanted = false;
    dl_iterate_phdr(unpatch_each, NULL);
    module_count = patch_count = 0;
    count_patches();
    pthread_mutex_unlock(&patch_lock);
}

/* ---- dlopen -------------------------------------------------------------------------- */

static void *(*real_dlopen)(const char *, int);

/* Calls fn(a, b) so that its return address lies in the module of `gadget`, a `ret`
 * instruction there, which returns here. dlopen takes its caller from its return address
 * (for the caller's RUNPATH, $ORIGIN and namespace): this way a dlopen through the hook still
 * loads what the program's own call would (memray #212, heaptrack PR #48). */
void *sw_call_through(void *fn, const void *a, long b, const void *gadget) __attribute__((visibility("hidden")));
__asm__(".text\n"
        ".p2align 4\n"
        ".type sw_call_through,@function\n"
        "sw_call_through:\n"
        ".cfi_startproc\n"
        "  push %rbp\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset %rbp, -16\n"
        "  mov %rsp, %rbp\n"
        ".cfi_def_cfa_register %rbp\n"
        "  sub $8, %rsp\n"
        "  lea 1f(%rip), %rax\n"
        "  push %rax\n"          /* where the gadget's ret goes */
        "  push %rcx\n"          /* fn's return address: the gadget */
        "  mov %rdi, %rax\n"
        "  mov %rsi, %rdi\n"
        "  mov %rdx, %rsi\n"
        "  jmp *%rax\n"
        "1:\n"
        "  leave\n"
        ".cfi_def_cfa %rsp, 8\n"
        "  ret\n"
        ".cfi_endproc\n"
        ".size sw_call_through, .-sw_call_through\n");

/* A `ret` (0xc3) in the page of the caller's return address: that page is mapped and
 * executable, so it is the caller's module. NULL when the page has none. */
static const void *ret_in_page_of(const void *address) {
    uintptr_t a = (uintptr_t)address, page = a & ~(uintptr_t)4095;
    const unsigned char *p = (const unsigned char *)page;
    for (uintptr_t i = a - page; i < 4096; i++)
        if (p[i] == 0xc3) return p + i;
    for (uintptr_t i = 0; i < a - page; i++)
        if (p[i] == 0xc3) return p + i;
    return NULL;
}

/* The GOT target of dlopen while attached. Allocations made inside the real dlopen (its
 * constructors) are not sampled: their stacks would pass through the borrowed `ret`. */
static void *attached_dlopen(const char *file, int flags) {
    if (SW_UNLIKELY(flags & RTLD_DEEPBIND) && sw_state_is_open()) {
        sw_warn(SW_WARN_DEEPBIND, "loading without RTLD_DEEPBIND so that its malloc and free are seen", file,
                "its symbols bind like any other library's");
        flags &= ~RTLD_DEEPBIND;
    }
    const void *gadget = ret_in_page_of(__builtin_return_address(0));
    sw_tls.busy++;
    void *handle = gadget ? sw_call_through((void *)real_dlopen, file, flags, gadget) : real_dlopen(file, flags);
    sw_tls.busy--;
    unsigned long long adds = 0;
    if (handle) dl_iterate_phdr(adds_of, &adds);
    if (handle && adds != __atomic_load_n(&seen_adds, __ATOMIC_RELAXED)) {
        int saved = errno;
        patch_new_modules();
        errno = saved;
    }
    return handle;
}

/* ---- The heap already there ------------------------------------------------------------ */

/* The allocator's own figure for the bytes in use (memory.c: glibc's mallinfo2, jemalloc's
 * stats.allocated, tcmalloc's current allocated bytes; mimalloc keeps none), asked in this
 * thread before the writer and its asker start. */
static void measure_heap_before(void) {
    sw_format_memory m;
    sw_memory_take(&m, true, 0);
    bool known = (m.valid & SW_MEMORY_IN_USE) != 0;
    sw.attach.heap_before_bytes = known ? m.in_use_bytes : 0;
    sw.attach.flags = known ? SW_ATTACH_HEAP_KNOWN : 0;
}

/* ---- The settings ---------------------------------------------------------------------- */

static bool parse_u64(const char *v, size_t len, uint64_t *out) {
    if (!len || len > 20) return false;
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') return false;
        if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, (uint64_t)(v[i] - '0'), &n)) return false;
    }
    *out = n;
    return true;
}

/* "key=value" lines: rate, interval_ns, depth, keep, max_bytes, dir, scan, unwind. The
 * injector checked them; anything else is refused whole. */
static bool parse_settings(const char *text, sw_config *c, const char **bad) {
    memset(c, 0, sizeof *c);
    c->rate = 524288;
    c->depth = 64;
    c->interval_ns = 10000000000ull;
    c->keep = SW_DEFAULT_KEEP;
    c->max_bytes = SW_DEFAULT_MAX_BYTES;
    c->scan = true;
    c->scan_max_bytes = SW_DEFAULT_SCAN_MAX_BYTES;
    c->scan_interval_ns = SW_DEFAULT_SCAN_INTERVAL_S * 1000000000ull;
    c->follow = false;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *eq = memchr(line, '=', len);
        if (!eq) {
            *bad = line;
            return false;
        }
        size_t klen = (size_t)(eq - line), vlen = len - klen - 1;
        const char *v = eq + 1;
        uint64_t n = 0;
#define KEY(name) (klen == sizeof(name) - 1 && memcmp(line, name, klen) == 0)
        if (KEY("dir")) {
            if (vlen == 0 || vlen >= sizeof c->dir - 64 || v[0] != '/') goto refuse;
            memcpy(c->dir, v, vlen);
            c->dir[vlen] = 0;
        } else if (KEY("unwind")) {
            c->frame_pointers = vlen == 2 && memcmp(v, "fp", 2) == 0;
        } else if (!parse_u64(v, vlen, &n)) {
            goto refuse;
        } else if (KEY("rate")) {
            if (n < 1 || n > SW_FORMAT_MAX_RATE) goto refuse;
            c->rate = n;
        } else if (KEY("interval_ns")) {
            if (n < 1000000) goto refuse; /* the control thread needs a writer to stop */
            c->interval_ns = n;
        } else if (KEY("depth")) {
            c->depth = (uint32_t)(n < 1 ? 1 : n > SW_MAX_DEPTH ? SW_MAX_DEPTH : n);
        } else if (KEY("keep")) {
            c->keep = n;
        } else if (KEY("max_bytes")) {
            c->max_bytes = n;
        } else if (KEY("scan")) {
            c->scan = n != 0;
        } else if (KEY("scan_interval_ns")) {
            c->scan_interval_ns = n;
        } else {
            goto refuse;
        }
#undef KEY
        line = end ? end + 1 : NULL;
        continue;
    refuse:
        *bad = line;
        return false;
    }
    if (!c->dir[0]) {
        *bad = "dir";
        return false;
    }
    return true;
}

/* ---- Attach and detach ----------------------------------------------------------------- */

static bool look_up_hooks(const char **missing) {
    Dl_info info;
    void *self = NULL;
    if (!dladdr1((void *)look_up_hooks, &info, &self, RTLD_DL_LINKMAP) || !self) {
        *missing = "this library's own handle";
        return false;
    }
    real_dlopen = (void *(*)(const char *, int))dlsym(RTLD_DEFAULT, "dlopen");
    for (int i = 0; i < HOOKED; i++) {
        bool is_dlopen = strcmp(hooked_names[i], "dlopen") == 0;
        hook_of[i] = is_dlopen ? (uintptr_t)attached_dlopen : (uintptr_t)dlsym(self, hooked_names[i]);
        bound_to[i] = (uintptr_t)dlsym(RTLD_DEFAULT, hooked_names[i]);
        /* C++ new and delete, _exit: hooked only where the program has them */
        if (!hook_of[i] || !bound_to[i]) hook_of[i] = 0;
    }
    if (!real_dlopen || !hook_of[0] || !hook_of[1]) {
        *missing = "malloc, free or dlopen";
        return false;
    }
    return true;
}

static void *control_main(void *unused) {
    (void)unused;
    sw_tls.busy = 1; /* this thread's own allocations are never sampled */
    sw_state_own_thread(1);
    measure_heap_before();
    sw.attach.attached_wall_ns = sw_now_ns(CLOCK_REALTIME);
    sw.attach.detached_wall_ns = 0;
    sw.attached = true;
    swheap_attach_control.heap_before_bytes = sw.attach.heap_before_bytes;
    swheap_attach_control.heap_before_known = sw.attach.flags & SW_ATTACH_HEAP_KNOWN;
    swheap_attach_control.attached_wall_ns = sw.attach.attached_wall_ns;
    swheap_attach_control.detached_wall_ns = 0;
    sw_lifecycle_attached(); /* sampling may begin: the first hooked call is sampled rightly */
    pthread_mutex_lock(&patch_lock);
    hooks_wanted = true;
    pthread_mutex_unlock(&patch_lock);
    patch_new_modules();
    set_state(SW_ATTACH_ATTACHED);

    /* Poll for a detach request; notice modules loaded by means other than the hooked
     * dlopen (libc's own, for NSS) at the same pace. */
    struct timespec pause = {0, 50 * 1000000};
    while (__atomic_load_n(&swheap_attach_control.request, __ATOMIC_ACQUIRE) != SW_ATTACH_REQUEST_DETACH) {
        nanosleep(&pause, NULL);
        unsigned long long adds = 0;
        dl_iterate_phdr(adds_of, &adds);
        if (adds != __atomic_load_n(&seen_adds, __ATOMIC_RELAXED)) patch_new_modules();
    }
    set_state(SW_ATTACH_DETACHING);
    unpatch_all();
    sw_lifecycle_detach();
    swheap_attach_control.detached_wall_ns = sw.attach.detached_wall_ns;
    __atomic_store_n(&swheap_attach_control.request, SW_ATTACH_REQUEST_NONE, __ATOMIC_RELEASE);
    sw_state_own_thread(-1);
    set_state(SW_ATTACH_DETACHED);
    return NULL;
}

/* A forked child of an attached process is not profiled (lifecycle.c closes its state; its
 * GOT entries still lead to the hooks, which pass every call on): it says it is detached, and
 * a later `swheap attach` of the child starts afresh. */
static void control_postfork_child(void) {
    __atomic_store_n(&swheap_attach_control.request, SW_ATTACH_REQUEST_NONE, __ATOMIC_RELAXED);
    if (get_state() != SW_ATTACH_DORMANT && get_state() != SW_ATTACH_PRELOADED) set_state(SW_ATTACH_DETACHED);
}

/* Called by the injector on a borrowed thread (its signals blocked). Quick: checks, prepares,
 * starts the control thread and returns; the outcome is in swheap_attach_control. */
SW_EXPORT void swheap_attach(const char *settings) {
    uint32_t state = get_state();
    if (state == SW_ATTACH_PRELOADED) {
        say("already profiled: libswheap.so was preloaded (LD_PRELOAD) when the program started", NULL);
        return;
    }
    if (state == SW_ATTACH_STARTING || state == SW_ATTACH_ATTACHED || state == SW_ATTACH_DETACHING) {
        say("already attached", NULL);
        return;
    }
    swheap_attach_control.message[0] = 0;
    __atomic_store_n(&swheap_attach_control.request, SW_ATTACH_REQUEST_NONE, __ATOMIC_RELEASE);
    const char *why = NULL;
    sw_config config;
    if (!parse_settings(settings, &config, &why)) {
        say("bad settings from swheap attach: ", why);
        set_state(SW_ATTACH_FAILED);
        return;
    }
    if (!look_up_hooks(&why)) {
        say("cannot find this library's hooks: ", why);
        set_state(SW_ATTACH_FAILED);
        return;
    }
    if (!sw_next_resolve_attached(&why)) {
        say("the program's allocator cannot be hooked: its entry point is not a plain definition (a non-PIE program that takes its address?): ",
            why);
        set_state(SW_ATTACH_FAILED);
        return;
    }
    sw.config = config;
    sw_warn_sink = warn_to_control;
    memcpy(swheap_attach_control.dir, config.dir, strlen(config.dir) + 1);
    if (!sw_lifecycle_attach(&why)) {
        say(why, NULL);
        set_state(SW_ATTACH_FAILED);
        return;
    }
    static bool fork_handler;
    if (!fork_handler) {
        pthread_atfork(NULL, NULL, control_postfork_child);
        fork_handler = true;
    }
    set_state(SW_ATTACH_STARTING);
    swheap_attach_control.session++;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t control;
    int r = pthread_create(&control, &attr, control_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        say("cannot start its control thread", NULL);
        set_state(SW_ATTACH_FAILED);
    }
}

/* The injector's marker on this thread's stack, between the stack pointer and the top of its
 * stack mapping (bounded to 1 MiB), or NULL. Words are read only inside the mapping. */
static const sw_attach_marker *find_marker(void) {
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0), hi = 0;
    sw_map_list maps = {0};
    if (sw_maps_read(&maps)) {
        const sw_mapping *m = sw_maps_find(&maps, sp);
        if (m) hi = m->hi;
        sw_maps_free(&maps);
    }
    if (!hi) return NULL;
    if (hi - sp > (1u << 20)) hi = sp + (1u << 20);
    for (uintptr_t at = (sp + 15) & ~(uintptr_t)15; at + sizeof(sw_attach_marker) <= hi; at += 16) {
        const sw_attach_marker *k = (const sw_attach_marker *)at;
        if (memcmp(k->magic, SW_ATTACH_MARKER_MAGIC, 16) == 0 && k->self == at &&
            k->check == (k->self ^ k->settings ^ SW_ATTACH_MARKER_CHECK))
            return k;
    }
    return NULL;
}

/* Preloaded (LD_PRELOAD): say so to a later `swheap attach`, which then refuses. Loaded by
 * the injector's dlopen: start, with the settings its marker points at. */
__attribute__((constructor)) static void attach_constructor(void) {
    if (sw_lifecycle_preloaded()) {
        set_state(SW_ATTACH_PRELOADED);
        return;
    }
    const sw_attach_marker *k = find_marker();
    if (k) swheap_attach((const char *)(uintptr_t)k->settings);
}
