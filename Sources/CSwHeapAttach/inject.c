/* Borrowing one thread of a running process to call a function in it, safely.
 *
 * Only one thread is ever stopped, and only while it is borrowed; the others run on. The
 * thread is chosen at a safe point: blocked in a waiting system call (nanosleep, poll, a
 * condition variable's futex, read, accept, ...) or running the program's own code, and in
 * neither case inside the allocator, the dynamic loader or a signal handler, which a scan of
 * its stack for return addresses into those (libc's and the allocator's malloc family, fork,
 * pthread_create, the dl* functions; any code of ld.so; glibc's signal return trampoline)
 * rules out. A thread found unsafe is let go at once and another tried a little later.
 *
 * The call is made so that the thread comes back by itself whatever happens to the
 * injector: its registers, FPU state and signal mask are written first, as a signal frame
 * (struct rt_sigframe) on its own stack below the red zone, and the called function returns
 * into glibc's __restore_rt, whose rt_sigreturn puts all of it back (CRIU's parasite code
 * returns the same way). While the injector lives it follows the call by system-call stops
 * and stops the thread again at that rt_sigreturn, to make the next call or to put the
 * thread back itself: exactly as it was, its interrupted system call restarted as the kernel
 * would (rt_sigreturn would make a restarted nanosleep return EINTR). If the injector is
 * killed at any step, the thread runs on through the frame. */
#define _GNU_SOURCE
#include "inject.h"
#include "swheap_attach.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

/* The kernel's x86-64 signal frame (arch/x86/include/asm/sigframe.h, uapi sigcontext.h). */
struct k_sigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2, fpstate, reserved1[8];
};
struct k_stack {
    uint64_t ss_sp;
    int32_t ss_flags, pad;
    uint64_t ss_size;
};
struct k_ucontext {
    uint64_t uc_flags, uc_link;
    struct k_stack uc_stack;
    struct k_sigcontext uc_mcontext;
    uint64_t uc_sigmask;
};
struct k_rt_sigframe {
    uint64_t pretcode;
    struct k_ucontext uc;
    unsigned char info[128];
};
_Static_assert(sizeof(struct k_sigcontext) == 256, "sigcontext");
_Static_assert(sizeof(struct k_ucontext) == 304, "ucontext");
_Static_assert(offsetof(struct k_rt_sigframe, uc) == 8, "frame");

#ifndef FP_XSTATE_MAGIC1
#define FP_XSTATE_MAGIC1 0x46505853u
#endif
#ifndef FP_XSTATE_MAGIC2
#define FP_XSTATE_MAGIC2 0x46505845u
#endif
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void say(char *why, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

void inject_maybe_die(int step) {
    const char *at = getenv("SWHEAP_ATTACH_DIE_AT");
    if (at && atoi(at) == step) kill(getpid(), SIGKILL);
    const char *pause = getenv("SWHEAP_ATTACH_PAUSE_AT"); /* tests: let the target exit meanwhile */
    if (pause && atoi(pause) == step) {
        struct timespec ts = {2, 0};
        nanosleep(&ts, NULL);
    }
}

/* ---- Waiting, with a deadline ---------------------------------------------------------- */

static void on_alarm(int sig) { (void)sig; }

/* 0: a status; -1: the thread is gone (ECHILD); -2: the deadline passed. */
static int wait_for(pid_t tid, int *status, uint64_t deadline) {
    static bool installed;
    if (!installed) {
        struct sigaction sa = {0};
        sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid returns EINTR */
        sigaction(SIGALRM, &sa, NULL);
        installed = true;
    }
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline) return -2;
        uint64_t left = deadline - now;
        struct itimerval it = {{0, 0}, {(time_t)(left / 1000000000ull), (suseconds_t)(left % 1000000000ull / 1000 + 1)}};
        setitimer(ITIMER_REAL, &it, NULL);
        pid_t r = waitpid(tid, status, __WALL);
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
        if (r == tid) return 0;
        if (r < 0 && errno == EINTR) continue;
        return -1;
    }
}

static bool exited(int status) { return WIFEXITED(status) || WIFSIGNALED(status); }
static bool event_stop(int status) { return WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP; }
static bool syscall_stop(int status) { return WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80); }

/* Stops a seized thread with PTRACE_INTERRUPT; a signal reported first is delivered. */
static int interrupt_thread(pid_t tid, uint64_t deadline) {
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0) return -1;
    for (;;) {
        int status;
        int r = wait_for(tid, &status, deadline);
        if (r) return r;
        if (exited(status)) return -1;
        if (event_stop(status)) return 0;
        if (WIFSTOPPED(status)) { /* a signal-delivery stop: let the signal through */
            int sig = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
            if (ptrace(PTRACE_CONT, tid, 0, (void *)(long)sig) != 0) return -1;
        }
    }
}

/* ---- Preparing: where things are in the target ------------------------------------------ */

static void add_danger(target *t, const elf_file *f, uintptr_t bias, const char *name) {
    uint64_t value, size;
    if (!elf_symbol(f, name, &value, &size) || size == 0) return;
    t->danger = realloc(t->danger, (t->dangers + 1) * sizeof *t->danger);
    t->danger[t->dangers][0] = bias + value;
    t->danger[t->dangers][1] = bias + value + size;
    t->dangers++;
}

static const char *const allocator_functions[] = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc", "memalign", "valloc",
    "pvalloc", "malloc_trim", "mallinfo", "mallinfo2", "malloc_stats", "malloc_info", "malloc_usable_size", "mallopt",
    "__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc", "__libc_memalign", "__libc_valloc",
    "__libc_pvalloc", "mallctl", "je_malloc", "tc_malloc", "mi_malloc",
};
static const char *const libc_functions[] = {
    "fork", "_Fork", "vfork", "pthread_create", "pthread_exit", "dlopen", "dlclose", "dlsym", "dlvsym", "dlmopen",
    "dladdr", "dladdr1", "dlinfo", "dlerror", "dl_iterate_phdr", "__libc_dlopen_mode", "__libc_dlsym",
    "__libc_dlclose", "_dl_find_object", "backtrace", "exit", "atexit", "__cxa_atexit", "__cxa_finalize",
};

bool inject_prepare(target *t, pid_t pid, char *why, size_t why_len) {
    memset(t, 0, sizeof *t);
    t->pid = pid;
    if (!maps_read(pid, &t->maps)) {
        say(why, why_len, "cannot read /proc/%d/maps: %s", (int)pid, strerror(errno));
        return false;
    }
    t->libc = module_find(&t->maps, "libc.so");
    if (!t->libc.found) t->libc = module_find(&t->maps, "libc-2.");
    t->loader = module_find(&t->maps, "ld-linux-x86-64.so");
    if (!t->loader.found) t->loader = module_find(&t->maps, "ld-2.");
    if (!t->libc.found || !t->loader.found) {
        bool musl = module_find(&t->maps, "ld-musl").found || module_find(&t->maps, "libc.musl").found;
        say(why, why_len, musl ? "process %d uses musl libc; swheap attach needs glibc"
                               : "process %d has no glibc loaded (statically linked?); swheap attach needs a dynamically linked glibc program",
            (int)pid);
        return false;
    }
    elf_file libc;
    if (!elf_open(pid, t->libc.path, &libc)) {
        say(why, why_len, "cannot read the target's libc %s: %s", t->libc.path, strerror(errno));
        return false;
    }
    uintptr_t bias = t->libc.bias - elf_first_load(&libc);
    t->libc.bias = bias;
    uint64_t v;
    if (elf_symbol(&libc, "dlopen", &v, NULL) || elf_symbol(&libc, "__libc_dlopen_mode", &v, NULL)) t->dlopen_fn = bias + v;
    if (elf_symbol(&libc, "dlerror", &v, NULL)) t->dlerror_fn = bias + v;
    static const unsigned char restore[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
    static const unsigned char syscall_ret[] = {0x0f, 0x05, 0xc3};
    if (elf_find_code(&libc, restore, sizeof restore, &v)) t->restore_rt = bias + v;
    if (elf_find_code(&libc, syscall_ret, sizeof syscall_ret, &v)) t->syscall_ret = bias + v;
    for (size_t i = 0; i < sizeof allocator_functions / sizeof *allocator_functions; i++)
        add_danger(t, &libc, bias, allocator_functions[i]);
    for (size_t i = 0; i < sizeof libc_functions / sizeof *libc_functions; i++) add_danger(t, &libc, bias, libc_functions[i]);
    elf_close(&libc);
    if (!t->dlopen_fn || !t->restore_rt) {
        say(why, why_len, "the target's libc %s lacks %s; swheap attach needs glibc on x86-64", t->libc.path,
            t->dlopen_fn ? "the signal return trampoline" : "dlopen");
        return false;
    }
    /* Another allocator (jemalloc, tcmalloc, mimalloc) linked or preloaded: its functions are
     * unsafe too, and so is any of its code. */
    static const char *const allocators[] = {"libjemalloc", "libtcmalloc", "libmimalloc"};
    for (size_t i = 0; i < sizeof allocators / sizeof *allocators && !t->allocator.found; i++) {
        module m = module_find(&t->maps, allocators[i]);
        elf_file f;
        if (!m.found || !elf_open(pid, m.path, &f)) continue;
        m.bias -= elf_first_load(&f);
        for (size_t k = 0; k < sizeof allocator_functions / sizeof *allocator_functions; k++)
            add_danger(t, &f, m.bias, allocator_functions[k]);
        elf_close(&f);
        t->allocator = m;
    }
    char seccomp[32];
    t->seccomp = proc_status_field(pid, "Seccomp", seccomp, sizeof seccomp) && atoi(seccomp) != 0;
    return true;
}

void inject_release(target *t) {
    maps_free(&t->maps);
    free(t->danger);
    memset(t, 0, sizeof *t);
}

/* ---- Safe points ------------------------------------------------------------------------ */

typedef struct {
    pid_t tid;
    int rank;     /* rank_of */
    long nr;      /* -2 running */
} candidate;

static bool in_range(uintptr_t a, uintptr_t lo, uintptr_t hi) { return a >= lo && a < hi; }

static bool in_module_data(const target *t, uintptr_t a) {
    return in_range(a, t->libc.data_lo, t->libc.data_hi) || in_range(a, t->loader.data_lo, t->loader.data_hi) ||
           (t->allocator.found && in_range(a, t->allocator.data_lo, t->allocator.data_hi));
}

/* Whether a waiting system call is a safe place to borrow the thread, or -1 when it is not.
 * args: the six arguments. Calls with a temporary signal mask (ppoll, pselect6, epoll_pwait
 * with one) are left alone: the kernel restores that mask on the way out. */
static bool safe_syscall(const target *t, long nr, const uint64_t *args) {
    switch (nr) {
    case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_poll: case SYS_select: case SYS_read: case SYS_readv:
    case SYS_pread64: case SYS_recvfrom: case SYS_recvmsg: case SYS_accept: case SYS_accept4: case SYS_wait4:
    case SYS_waitid: case SYS_pause: case SYS_epoll_wait:
        return true;
    case SYS_ppoll:
        return args[3] == 0;
    case SYS_pselect6:
        return args[5] == 0;
    case SYS_futex: {
        /* waits only (a condition variable, a semaphore, a join), and not on a lock of libc,
         * the loader or the allocator: those live in their data */
        int op = (int)(args[1] & 127);
        bool wait = op == 0 /* WAIT */ || op == 9 /* WAIT_BITSET */ || op == 11 /* WAIT_REQUEUE_PI */;
        return wait && !in_module_data(t, args[0]);
    }
    case SYS_epoll_pwait: case 441 /* epoll_pwait2 */:
        return args[4] == 0;
    default:
        return false;
    }
}

/* The relative timeout of a wait that the kernel restarts through a restart block (which
 * rt_sigreturn would cut short: the thread then makes the whole call again), in ns; 0 when the
 * call has none (no timeout, an absolute one, or one the kernel updates in place);
 * UINT64_MAX when it cannot be read. */
static uint64_t relative_timeout(pid_t tid, long nr, const uint64_t *args) {
    uint64_t at = 0;
    switch (nr) {
    case SYS_nanosleep: at = args[0]; break;
    case SYS_clock_nanosleep: if (args[1] & 1 /* TIMER_ABSTIME */) return 0; at = args[2]; break;
    case SYS_poll: return (int)args[2] < 0 ? 0 : (uint64_t)(int)args[2] * 1000000ull;
    case SYS_futex: if ((args[1] & 127) != 0 || args[3] == 0) return 0; at = args[3]; break;
    default: return 0;
    }
    struct timespec ts;
    struct iovec local = {&ts, sizeof ts}, remote = {(void *)(uintptr_t)at, sizeof ts};
    if (process_vm_readv(tid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof ts || ts.tv_sec < 0) return UINT64_MAX;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Short restart-block sleeps are made again whole after the call (the thread sleeps up to
 * this much longer); longer ones are followed and restored exactly. */
#define SHORT_SLEEP_NS 5000000ull

/* Which threads to try first: 0 waits the thread resumes from exactly (futex waits of
 * condition variables and joins, reads, accepts, absolute sleeps); 1 long relative sleeps
 * (the call is followed, the sleep restored exactly: the thread would sleep anyway); 2
 * threads running their own code; 3 short relative sleeps; 4 epoll waits, which return EINTR
 * to the program when interrupted at all. -1: not a safe place. */
static int rank_of(const target *t, pid_t tid, long nr, const uint64_t *args) {
    if (nr < 0) return 2; /* running (or blocked outside a call, in a fault) */
    if (!safe_syscall(t, nr, args)) return -1;
    if (nr == SYS_epoll_wait || nr == SYS_epoll_pwait || nr == 441) return 4;
    uint64_t timeout = relative_timeout(tid, nr, args);
    return timeout == 0 ? 0 : timeout > 100000000ull ? 1 : 3;
}

/* Threads of the target with their rank, best first. */
static size_t list_candidates(const target *t, candidate *out, size_t cap) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)t->pid);
    DIR *d = opendir(path);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < cap) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0) continue;
        char file[96], text[512];
        snprintf(file, sizeof file, "/proc/%d/task/%d/syscall", (int)t->pid, (int)tid);
        if (read_small_file(file, text, sizeof text) <= 0) continue;
        candidate c = {tid, -1, -2};
        if (strncmp(text, "running", 7) == 0) {
            c.rank = 2;
        } else {
            long nr = strtol(text, NULL, 10);
            uint64_t args[6] = {0};
            char *p = strchr(text, ' ');
            for (int i = 0; i < 6 && p; i++) {
                args[i] = strtoull(p + 1, NULL, 16);
                p = strchr(p + 1, ' ');
            }
            c.nr = nr;
            c.rank = rank_of(t, tid, nr, args);
        }
        if (c.rank >= 0) out[n++] = c;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort by rank, stable */
        for (size_t k = i; k > 0 && out[k].rank < out[k - 1].rank; k--) {
            candidate x = out[k];
            out[k] = out[k - 1], out[k - 1] = x;
        }
    return n;
}

/* Whether `w` is a return address: the instruction before it is a call (e8 rel32, or
 * ff /2 in any of its lengths, a REX prefix included). A stack word that only points into a
 * function (a saved function pointer, like __libc_start_main's rtld_fini on every main
 * thread's stack) is not. Unreadable code counts as a call. */
static bool after_call(pid_t tid, uintptr_t w) {
    unsigned char b[8];
    struct iovec local = {b, sizeof b}, remote = {(void *)(w - 8), sizeof b};
    if (process_vm_readv(tid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof b) return true;
    if (b[8 - 5] == 0xe8) return true;
    static const int lengths[] = {2, 3, 4, 6, 7};
    for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++) {
        int k = lengths[i];
        if (b[8 - k] == 0xff && ((b[8 - k + 1] >> 3) & 7) == 2) return true;
    }
    return false;
}

/* Why the stopped thread is not at a safe point, or NULL when it is. */
static const char *unsafe(const target *t, pid_t tid, const struct user_regs_struct *r) {
    long nr = (long)r->orig_rax;
    if (nr >= 0) {
        uint64_t args[6] = {r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9};
        if (!safe_syscall(t, nr, args)) return "in a system call that may hold a lock";
    } else {
        uintptr_t pc = r->rip;
        if (in_range(pc, t->libc.exec_lo, t->libc.exec_hi)) return "running inside libc";
        if (in_range(pc, t->loader.exec_lo, t->loader.exec_hi)) return "inside the dynamic loader";
        if (t->allocator.found && in_range(pc, t->allocator.exec_lo, t->allocator.exec_hi)) return "inside the allocator";
        if (r->eflags & 0x400) return "running with the direction flag set";
    }
    const mapping *m = maps_find(&t->maps, r->rsp);
    if (!m) return "on a stack it cannot find";
    size_t len = m->hi - r->rsp;
    if (len > (1u << 20)) len = 1u << 20;
    uint64_t *words = malloc(len + 8);
    struct iovec local = {words, len}, remote = {(void *)(uintptr_t)r->rsp, len};
    ssize_t got = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    const char *why = got <= 0 ? "on a stack it cannot read" : NULL;
    for (size_t i = 0; !why && i < (size_t)got / 8; i++) {
        uintptr_t w = words[i];
        if (w < 4096) continue;
        if (w == t->restore_rt) {
            why = "inside a signal handler";
        } else if (in_range(w, t->loader.exec_lo, t->loader.exec_hi)) {
            if (after_call(tid, w)) why = "inside the dynamic loader";
        } else {
            for (size_t k = 0; k < t->dangers && !why; k++)
                if (in_range(w, t->danger[k][0], t->danger[k][1]) && after_call(tid, w))
                    why = "inside the allocator, fork, thread creation or dlopen";
        }
    }
    free(words);
    return why;
}

/* ---- Calls ------------------------------------------------------------------------------- */

typedef struct {
    pid_t tid;
    struct user_regs_struct regs0; /* as stopped: put back exactly at the end */
    unsigned char *xstate;         /* FPU/SSE/AVX state as stopped */
    size_t xstate_len;
    bool xsave;                    /* NT_X86_XSTATE (else the 512-byte fxsave image) */
    uint64_t mask0;                /* signal mask as stopped */
    uintptr_t frame;               /* the rt_sigframe on its stack (frame % 16 == 8) */
    uintptr_t path_at, settings_at;
    uint64_t deadline;
} borrowed;

/* The registers the thread resumes with if rt_sigreturn brings it back (the injector gone):
 * an interrupted system call restarted as the kernel would (rip back over `syscall`). */
static void resume_regs(const struct user_regs_struct *r, struct k_sigcontext *sc) {
    sc->r8 = r->r8, sc->r9 = r->r9, sc->r10 = r->r10, sc->r11 = r->r11, sc->r12 = r->r12, sc->r13 = r->r13;
    sc->r14 = r->r14, sc->r15 = r->r15, sc->rdi = r->rdi, sc->rsi = r->rsi, sc->rbp = r->rbp, sc->rbx = r->rbx;
    sc->rdx = r->rdx, sc->rax = r->rax, sc->rcx = r->rcx, sc->rsp = r->rsp, sc->rip = r->rip, sc->eflags = r->eflags;
    sc->cs = (uint16_t)r->cs, sc->ss = (uint16_t)r->ss;
    long err = -(long)r->rax;
    if ((long)r->orig_rax >= 0 && (err == ERESTARTSYS || err == ERESTARTNOINTR || err == ERESTARTNOHAND ||
                                   err == ERESTART_RESTARTBLOCK)) {
        /* restart_syscall would find its restart block reset by rt_sigreturn: the call is
         * made again from the start instead (a sleep sleeps its whole time again) */
        sc->rip -= 2;
        sc->rax = r->orig_rax;
    }
}

static bool write_memory(pid_t tid, uintptr_t at, const void *bytes, size_t len) {
    struct iovec local = {(void *)bytes, len}, remote = {(void *)at, len};
    return process_vm_writev(tid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

static bool read_memory(pid_t tid, uintptr_t at, void *bytes, size_t len) {
    struct iovec local = {bytes, len}, remote = {(void *)at, len};
    return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* Saves the thread's state and writes the signal frame, the strings and the FPU image below
 * its red zone. false with `why` set when its stack has no room. */
static bool build_frame(const target *t, borrowed *b, const char *path, const char *settings, char *why, size_t why_len) {
    if (ptrace(PTRACE_GETREGS, b->tid, 0, &b->regs0) != 0) {
        say(why, why_len, "cannot read the registers of thread %d: %s", (int)b->tid, strerror(errno));
        return false;
    }
    size_t cap = 1 << 16;
    b->xstate = calloc(1, cap);
    struct iovec iov = {b->xstate, cap};
    if (ptrace(PTRACE_GETREGSET, b->tid, (void *)NT_X86_XSTATE, &iov) == 0) {
        b->xsave = true;
        b->xstate_len = iov.iov_len;
    } else if (ptrace(PTRACE_GETFPREGS, b->tid, 0, b->xstate) == 0) {
        b->xstate_len = 512;
    } else {
        say(why, why_len, "cannot read the FPU state of thread %d: %s", (int)b->tid, strerror(errno));
        return false;
    }
    if (ptrace(PTRACE_GETSIGMASK, b->tid, (void *)sizeof b->mask0, &b->mask0) != 0) {
        say(why, why_len, "cannot read the signal mask of thread %d: %s", (int)b->tid, strerror(errno));
        return false;
    }
    /* The FPU image as rt_sigreturn wants it: 64-byte aligned, the kernel's sw_reserved bytes
     * (magic1, sizes) kept, magic2 after the state. Without them it restores x87/SSE only. */
    uint32_t magic1 = 0, extended = 0, xsize = 0;
    if (b->xsave && b->xstate_len >= 512) {
        memcpy(&magic1, b->xstate + 464, 4);
        memcpy(&extended, b->xstate + 468, 4);
        memcpy(&xsize, b->xstate + 480, 4);
    }
    bool full = b->xsave && magic1 == FP_XSTATE_MAGIC1 && xsize <= b->xstate_len && extended >= xsize + 4;
    size_t fp_len = full ? extended : 512;
    unsigned char *fp = calloc(1, fp_len + 64);
    memcpy(fp, b->xstate, full ? xsize : 512);
    if (full) {
        uint32_t magic2 = FP_XSTATE_MAGIC2;
        memcpy(fp + xsize, &magic2, 4);
    } else {
        memset(fp + 464, 0, 48);
    }

    uintptr_t top = (b->regs0.rsp - 128 - 256) & ~(uintptr_t)63;
    uintptr_t fp_at = (top - fp_len) & ~(uintptr_t)63;
    b->path_at = (fp_at - strlen(path) - 1) & ~(uintptr_t)15;
    b->settings_at = (b->path_at - strlen(settings) - 1) & ~(uintptr_t)15;
    uintptr_t marker_at = (b->settings_at - sizeof(sw_attach_marker)) & ~(uintptr_t)15;
    b->frame = ((marker_at - sizeof(struct k_rt_sigframe)) & ~(uintptr_t)15) - 8;
    const mapping *m = maps_find(&t->maps, b->regs0.rsp);
    bool grows = m && strcmp(m->path, "[stack]") == 0;
    if (!m || b->frame < m->lo || (!grows && b->frame - m->lo < 128 * 1024)) {
        free(fp);
        say(why, why_len, "thread %d has too little stack left", (int)b->tid);
        return false;
    }
    struct k_rt_sigframe frame;
    memset(&frame, 0, sizeof frame);
    frame.pretcode = t->restore_rt;
    frame.uc.uc_flags = full ? 1 /* UC_FP_XSTATE */ : 0;
    frame.uc.uc_stack.ss_flags = 3; /* not a valid mode: rt_sigreturn leaves the thread's sigaltstack alone */
    resume_regs(&b->regs0, &frame.uc.uc_mcontext);
    frame.uc.uc_mcontext.fpstate = fp_at;
    frame.uc.uc_sigmask = b->mask0;
    sw_attach_marker marker = {.self = marker_at, .settings = b->settings_at};
    memcpy(marker.magic, SW_ATTACH_MARKER_MAGIC, sizeof marker.magic);
    marker.check = marker.self ^ marker.settings ^ SW_ATTACH_MARKER_CHECK;
    bool ok = write_memory(b->tid, fp_at, fp, fp_len) && write_memory(b->tid, b->path_at, path, strlen(path) + 1) &&
              write_memory(b->tid, b->settings_at, settings, strlen(settings) + 1) &&
              write_memory(b->tid, marker_at, &marker, sizeof marker) && write_memory(b->tid, b->frame, &frame, sizeof frame);
    free(fp);
    if (!ok) say(why, why_len, "cannot write to the stack of thread %d: %s", (int)b->tid, strerror(errno));
    return ok;
}

/* Outcomes of one call. */
enum { CALL_DONE, CALL_GONE, CALL_CRASHED, CALL_TIMEOUT, CALL_FAILED, CALL_RUNNING };

/* The thread is stopped; has it call fn(a0, a1), returning to __restore_rt at the frame
 * (for reading a result, through a chain that ends there). Untraced: lets the thread go at
 * once (CALL_RUNNING); it comes back through the frame by itself. Traced: follows it by
 * system-call stops until it is at the frame's rt_sigreturn, stopped at that call's entry,
 * so that give_back can put it back exactly. *result: with read_result, the value of the
 * first system call the chain makes (the function's result, by the `syscall; ret` trick). */
static int call(const target *t, borrowed *b, uintptr_t fn, uint64_t a0, uint64_t a1, bool traced, bool read_result,
                uint64_t *result, int die_step) {
    struct user_regs_struct r = b->regs0;
    uintptr_t entry_sp = b->frame;
    if (read_result) {
        /* [frame-16] ret, [frame-8] syscall;ret, [frame] __restore_rt: the function's result
         * becomes a system call number, seen at its entry, then the frame's return goes on */
        uint64_t chain[2] = {t->syscall_ret + 2, t->syscall_ret};
        if (!write_memory(b->tid, b->frame - 16, chain, sizeof chain)) return CALL_FAILED;
        entry_sp = b->frame - 16;
    }
    uint64_t pret = t->restore_rt;
    if (!write_memory(b->tid, b->frame, &pret, sizeof pret)) return CALL_FAILED;
    r.rip = fn;
    r.rdi = a0;
    r.rsi = a1;
    r.rsp = entry_sp;
    r.rax = 0;
    r.orig_rax = (unsigned long long)-1; /* no system call restart on the way out */
    r.eflags &= ~(0x400ull | 0x100ull);  /* DF and TF clear, as the ABI wants at a call */
    if (ptrace(PTRACE_SETREGS, b->tid, 0, &r) != 0) return CALL_FAILED;
    inject_maybe_die(3);
    uint64_t all = ~0ull;
    ptrace(PTRACE_SETSIGMASK, b->tid, (void *)sizeof all, &all); /* the call runs with every signal blocked */
    inject_maybe_die(die_step);
    if (!traced) /* the thread makes the call and comes back through the frame on its own */
        return ptrace(PTRACE_DETACH, b->tid, 0, 0) == 0 ? CALL_RUNNING : CALL_GONE;
    if (ptrace(PTRACE_SYSCALL, b->tid, 0, 0) != 0) return CALL_GONE;
    bool result_seen = !read_result;
    for (;;) {
        int status;
        int w = wait_for(b->tid, &status, b->deadline);
        if (w == -2) return CALL_TIMEOUT;
        if (w == -1 || exited(status)) return CALL_GONE;
        int sig = 0;
        if (syscall_stop(status)) {
            struct user_regs_struct now;
            if (ptrace(PTRACE_GETREGS, b->tid, 0, &now) != 0) return CALL_GONE;
            if (!result_seen && now.rip == t->syscall_ret + 2 && now.rsp == b->frame) {
                *result = now.orig_rax;
                result_seen = true;
                now.orig_rax = (unsigned long long)-1; /* skip it: NULL would be read(2) */
                ptrace(PTRACE_SETREGS, b->tid, 0, &now);
            } else if (now.orig_rax == 15 && now.rip == t->restore_rt + 9 && now.rsp == b->frame + 8) {
                return CALL_DONE;
            }
        } else if (event_stop(status)) {
            /* an interrupt or group stop: go on */
        } else if (WIFSTOPPED(status)) {
            sig = WSTOPSIG(status);
            if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT || sig == SIGSYS)
                return CALL_CRASHED;
            sig = 0; /* blocked signals cannot be delivered here; SIGSTOP is not honoured */
        }
        if (ptrace(PTRACE_SYSCALL, b->tid, 0, (void *)(long)sig) != 0) return CALL_GONE;
    }
}

/* Puts the borrowed thread back exactly as it was and lets it go. From a stop at the frame's
 * rt_sigreturn (at_frame), or from any stop after a failure. */
static void give_back(const target *t, borrowed *b, bool at_frame) {
    if (at_frame) {
        /* Skip the rt_sigreturn, but point the thread at __restore_rt again first: if the
         * injector dies before the next stop, the thread still returns through the frame. */
        struct user_regs_struct r;
        if (ptrace(PTRACE_GETREGS, b->tid, 0, &r) == 0) {
            r.orig_rax = (unsigned long long)-1;
            r.rip = t->restore_rt;
            r.rsp = b->frame + 8;
            ptrace(PTRACE_SETREGS, b->tid, 0, &r);
            inject_maybe_die(6);
            ptrace(PTRACE_INTERRUPT, b->tid, 0, 0);
            inject_maybe_die(7);
            ptrace(PTRACE_CONT, b->tid, 0, 0);
            int status;
            uint64_t deadline = now_ns() + 2000000000ull;
            while (wait_for(b->tid, &status, deadline) == 0 && !exited(status) && !event_stop(status))
                ptrace(PTRACE_CONT, b->tid, 0, 0);
        }
    }
    /* At an interrupt stop (or a crash's signal stop): state, mask, then registers, so that
     * a death in between still leaves a thread that returns through the frame. */
    if (b->xsave) {
        struct iovec iov = {b->xstate, b->xstate_len};
        ptrace(PTRACE_SETREGSET, b->tid, (void *)NT_X86_XSTATE, &iov);
    } else {
        ptrace(PTRACE_SETFPREGS, b->tid, 0, b->xstate);
    }
    ptrace(PTRACE_SETSIGMASK, b->tid, (void *)sizeof b->mask0, &b->mask0);
    inject_maybe_die(8);
    ptrace(PTRACE_SETREGS, b->tid, 0, &b->regs0);
    ptrace(PTRACE_DETACH, b->tid, 0, 0);
}

/* The thread runs on, unwatched, mid-call: it returns through the frame by itself. */
static void let_run(pid_t tid) {
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0) {
        int status;
        uint64_t deadline = now_ns() + 1000000000ull;
        if (wait_for(tid, &status, deadline) == 0 && !exited(status)) ptrace(PTRACE_DETACH, tid, 0, 0);
    }
}

static uintptr_t loaded_at(pid_t pid, const char *path) {
    mapping_list maps;
    if (!maps_read(pid, &maps)) return 0;
    uintptr_t base = 0;
    for (size_t i = 0; i < maps.n && !base; i++)
        if (maps.v[i].offset == 0 && strcmp(maps.v[i].path, path) == 0) base = maps.v[i].lo;
    maps_free(&maps);
    return base;
}

static void read_string(pid_t tid, uintptr_t at, char *out, size_t len) {
    out[0] = 0;
    for (size_t n = 0; n + 1 < len; n += 64) { /* chunks, so a string near a page end still reads */
        size_t chunk = len - 1 - n < 64 ? len - 1 - n : 64;
        if (!read_memory(tid, at + n, out + n, chunk)) {
            out[n] = 0;
            return;
        }
        out[n + chunk] = 0;
        if (memchr(out + n, 0, chunk)) return;
    }
}


/* The outcome of a failed load, from dlerror in the target: borrows a thread again and has it
 * try dlopen once more under system-call stops, then call dlerror. */

/* Has the stopped, safe thread `tid` make the call: dlopen(shim) when shim_base is 0 (the
 * library's constructor then calls swheap_attach), else swheap_attach(settings). When the
 * thread resumes through the frame exactly as the kernel would resume it, it is let go at
 * once; when it was in a sleep that the kernel restarts with a restart block (nanosleep,
 * poll with a timeout), which rt_sigreturn would cut short, the call is followed and the
 * thread put back by hand. */
static bool borrow(target *t, pid_t tid, const struct user_regs_struct *regs, const char *shim, uintptr_t shim_base,
                   uint64_t attach_fn_offset, const char *settings, inject_report *report, char *why, size_t why_len) {
    borrowed b = {.tid = tid, .deadline = now_ns() + 10000000000ull};
    report->thread = tid;
    report->safe_point = (long)regs->orig_rax >= 0 ? "a waiting system call" : "the program's own code";
    if (!build_frame(t, &b, shim, settings, why, why_len)) {
        ptrace(PTRACE_DETACH, tid, 0, 0);
        free(b.xstate);
        report->retry = true; /* another thread may have the stack room */
        return false;
    }
    inject_maybe_die(2);
    bool traced = false;
    if ((long)b.regs0.orig_rax >= 0 && -(long)b.regs0.rax == ERESTART_RESTARTBLOCK) {
        uint64_t args[6] = {b.regs0.rdi, b.regs0.rsi, b.regs0.rdx, b.regs0.r10, b.regs0.r8, b.regs0.r9};
        traced = relative_timeout(tid, (long)b.regs0.orig_rax, args) > SHORT_SLEEP_NS;
    }
    report->traced = traced;
    uintptr_t fn = shim_base ? shim_base + attach_fn_offset : t->dlopen_fn;
    uint64_t a0 = shim_base ? b.settings_at : b.path_at, a1 = shim_base ? 0 : (RTLD_NOW | RTLD_NODELETE);
    report->mask0 = b.mask0;
    int c = call(t, &b, fn, a0, a1, traced, false, NULL, 4);
    bool ok = true;
    switch (c) {
    case CALL_RUNNING:
        break;
    case CALL_DONE:
        inject_maybe_die(5);
        give_back(t, &b, true);
        break;
    case CALL_CRASHED:
        give_back(t, &b, false);
        say(why, why_len, "process %d faulted inside the injected call; it was put back as it was and runs on unprofiled", (int)t->pid);
        ok = false;
        break;
    case CALL_TIMEOUT:
        let_run(tid);
        say(why, why_len, "the injected call in process %d did not return within 10 s; it runs on by itself", (int)t->pid);
        ok = false;
        break;
    case CALL_GONE:
        say(why, why_len, "process %d exited during attach", (int)t->pid);
        ok = false;
        break;
    default:
        give_back(t, &b, false);
        say(why, why_len, "cannot set up the call in thread %d: %s", (int)tid, strerror(errno));
        ok = false;
    }
    free(b.xstate);
    return ok;
}

/* The thread's blocked-signal mask now, from /proc (all ones while the call runs). */
static bool thread_mask(pid_t pid, pid_t tid, uint64_t *mask) {
    char path[96], text[4096];
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
    if (read_small_file(path, text, sizeof text) <= 0) return false;
    const char *at = strstr(text, "SigBlk:");
    if (!at) return false;
    *mask = strtoull(at + 7, NULL, 16);
    return true;
}

/* Whether the borrowed thread is still making the call: its mask is all-blocked until
 * rt_sigreturn restores its own (unknowable when its own mask blocks everything: true).
 * glibc's sigprocmask and pthread_sigmask never block its two internal signals (32 and 33,
 * SIGCANCEL and SIGSETXID), so code in the call that saves and restores the mask through
 * them unblocks those two: they do not count. */
bool inject_call_running(const target *t, const inject_report *report) {
    const uint64_t blocked_all = ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
    const uint64_t glibc_internal = (1ull << (32 - 1)) | (1ull << (33 - 1));
    uint64_t mask;
    if (!thread_mask(t->pid, report->thread, &mask)) return false; /* the thread ended */
    return (mask | glibc_internal) == blocked_all;
}

/* The process ended (or is a zombie: its threads are gone). */
static bool process_gone(pid_t pid) {
    char state[32];
    return kill(pid, 0) != 0 || !proc_status_field(pid, "State", state, sizeof state) || state[0] == 'Z' || state[0] == 'X';
}

bool inject_attach(target *t, const char *shim, uintptr_t shim_base, uint64_t attach_fn_offset, const char *settings,
                   uint64_t timeout_ns, inject_report *report, char *why, size_t why_len) {
    memset(report, 0, sizeof *report);
    uint64_t started = now_ns(), deadline = started + timeout_ns;
    candidate cands[4096];
    const char *last_reason = NULL;
    pid_t last_tid = 0;
    while (now_ns() < deadline) {
        size_t n = list_candidates(t, cands, sizeof cands / sizeof *cands);
        if (process_gone(t->pid)) {
            say(why, why_len, "process %d exited during attach", (int)t->pid);
            return false;
        }
        bool others = n > 0 && cands[0].rank < 4;
        for (size_t i = 0; i < n && now_ns() < deadline; i++) {
            pid_t tid = cands[i].tid;
            /* an epoll wait sees EINTR even when only checked: the last resort */
            if (cands[i].rank == 4 && others && now_ns() < started + 1000000000ull) break;
            if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)PTRACE_O_TRACESYSGOOD) != 0) {
                if (errno == EPERM && !process_gone(t->pid)) {
                    say(why, why_len, "EPERM");
                    return false;
                }
                if (process_gone(t->pid)) {
                    say(why, why_len, "process %d exited during attach", (int)t->pid);
                    return false;
                }
                continue; /* the thread ended */
            }
            int r = interrupt_thread(tid, now_ns() + 500000000ull);
            if (r != 0) {
                if (r == -2) let_run(tid);
                else ptrace(PTRACE_DETACH, tid, 0, 0);
                continue;
            }
            inject_maybe_die(1);
            uint64_t stopped_at = now_ns();
            struct user_regs_struct regs;
            if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0) {
                ptrace(PTRACE_DETACH, tid, 0, 0);
                continue;
            }
            const char *reason = unsafe(t, tid, &regs);
            if (reason) {
                ptrace(PTRACE_DETACH, tid, 0, 0);
                report->tries++;
                last_reason = reason, last_tid = tid;
                continue;
            }
            /* Borrowed. */
            report->retry = false;
            bool ok = borrow(t, tid, &regs, shim, shim_base, attach_fn_offset, settings, report, why, why_len);
            report->borrowed_ns = now_ns() - stopped_at;
            if (!ok && report->retry) {
                report->tries++;
                last_reason = "short of stack for the call", last_tid = tid;
                continue;
            }
            return ok;
        }
        struct timespec pause = {0, 2000000};
        nanosleep(&pause, NULL);
    }
    if (last_reason)
        say(why, why_len, "no thread of process %d reached a safe point within %.1f s (thread %d was %s); try again while it is less busy",
            (int)t->pid, (double)timeout_ns / 1e9, (int)last_tid, last_reason);
    else
        say(why, why_len, "no thread of process %d could be stopped within %.1f s", (int)t->pid, (double)timeout_ns / 1e9);
    return false;
}

void inject_explain_load_failure(target *t, const char *shim, char *why, size_t why_len) {
    const char *settings = "";
    uint64_t deadline = now_ns() + 5000000000ull;
    candidate cands[4096];
    char err[400] = "";
    while (now_ns() < deadline && !err[0]) {
        size_t n = list_candidates(t, cands, sizeof cands / sizeof *cands);
        for (size_t i = 0; i < n && !err[0]; i++) {
            pid_t tid = cands[i].tid;
            if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)PTRACE_O_TRACESYSGOOD) != 0) continue;
            struct user_regs_struct regs;
            if (interrupt_thread(tid, now_ns() + 500000000ull) != 0 || ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0 ||
                unsafe(t, tid, &regs)) {
                ptrace(PTRACE_DETACH, tid, 0, 0);
                continue;
            }
            borrowed b = {.tid = tid, .deadline = now_ns() + 10000000000ull};
            if (!build_frame(t, &b, shim, settings, why, why_len)) {
                ptrace(PTRACE_DETACH, tid, 0, 0);
                free(b.xstate);
                continue;
            }
            int c = call(t, &b, t->dlopen_fn, b.path_at, RTLD_NOW | RTLD_NODELETE, true, false, NULL, 0);
            uint64_t msg = 0;
            if (c == CALL_DONE && loaded_at(t->pid, shim)) {
                snprintf(err, sizeof err, "it loaded at the second try");
            } else if (c == CALL_DONE && t->dlerror_fn && t->syscall_ret && !t->seccomp) {
                c = call(t, &b, t->dlerror_fn, 0, 0, true, true, &msg, 0);
                if (c == CALL_DONE && msg > 4096) read_string(tid, msg, err, sizeof err);
                if (!err[0]) snprintf(err, sizeof err, "dlopen failed");
            } else if (c == CALL_DONE) {
                snprintf(err, sizeof err, "dlopen failed (the reason cannot be read under seccomp)");
            }
            if (c == CALL_DONE) give_back(t, &b, true);
            else if (c == CALL_CRASHED || c == CALL_FAILED) give_back(t, &b, false);
            else if (c == CALL_TIMEOUT) let_run(tid);
            free(b.xstate);
            if (!err[0]) snprintf(err, sizeof err, "dlopen failed");
        }
    }
    bool tls = strstr(err, "static TLS") != NULL;
    const char *reason = err;
    size_t shim_len = strlen(shim);
    if (strncmp(reason, shim, shim_len) == 0 && strncmp(reason + shim_len, ": ", 2) == 0) reason += shim_len + 2;
    say(why, why_len, "cannot load %s into process %d: %s%s", shim, (int)t->pid, reason[0] ? reason : "dlopen failed",
        tls ? " (glibc has no room left for initial-exec TLS in this process: start it with "
              "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=2048, or under swheap run)"
            : "");
}
