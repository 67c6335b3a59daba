/* Stop-the-world for the exit scan without ptrace: every other thread is signalled, its
 * handler copies its interrupted registers out of the ucontext, acknowledges and waits on
 * a futex until released. Deadlines everywhere: the stopper gives up after timeout_ns,
 * a stopped thread leaves after a few seconds whatever happens. The handler stays
 * installed (a no-op when no stop is under way), so a late signal never hits the default
 * action, which for a real-time signal is to end the process. */
#define _GNU_SOURCE
#include "sw_os.h"
#include "sw_scan_threads.h"
#include "sw_state.h"
#include "swheap_format.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <sched.h>
#include <ucontext.h>
#include <unistd.h>

enum { MAX_THREADS = 8192, ROUNDS = 8 };

/* Static: a late handler may read these after the stop's own memory is gone. */
static _Atomic(sw_world *) current;
static atomic_int released;
static atomic_int answered;
static atomic_int inside; /* handlers between reading `current` and leaving */
static int stop_signal;

static long futex(atomic_int *word, int op, int value, const struct timespec *timeout) {
    return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

uintptr_t sw_thread_pointer(void) {
#if defined(__x86_64__)
    uintptr_t tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    return tp;
#else
    return (uintptr_t)__builtin_thread_pointer();
#endif
}

static size_t copy_registers(const ucontext_t *uc, uintptr_t *regs, uintptr_t *sp, uintptr_t *pc) {
#if defined(__x86_64__)
    for (int i = 0; i < NGREG && i < SW_THREAD_REGS; i++) regs[i] = (uintptr_t)uc->uc_mcontext.gregs[i];
    *sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    *pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    return NGREG < SW_THREAD_REGS ? NGREG : SW_THREAD_REGS;
#elif defined(__aarch64__)
    for (int i = 0; i < 31 && i < SW_THREAD_REGS; i++) regs[i] = (uintptr_t)uc->uc_mcontext.regs[i];
    *sp = (uintptr_t)uc->uc_mcontext.sp;
    *pc = (uintptr_t)uc->uc_mcontext.pc;
    return 31;
#else
    (void)uc, (void)regs, *sp = 0, *pc = 0;
    return 0;
#endif
}

static void on_stop(int sig, siginfo_t *info, void *context) {
    (void)sig, (void)info;
    int saved = errno;
    atomic_fetch_add(&inside, 1);
    sw_world *w = atomic_load(&current);
    pid_t me = (pid_t)syscall(SYS_gettid);
    sw_stopped_thread *t = NULL;
    for (size_t i = 0; w && i < w->n; i++)
        if (w->threads[i].tid == me && atomic_load(&w->threads[i].state) == 0) t = &w->threads[i];
    if (t) {
        t->nregs = copy_registers(context, t->regs, &t->sp, &t->pc);
        t->tp = sw_thread_pointer();
        atomic_store(&t->state, 1);
        atomic_fetch_add(&answered, 1);
        futex(&answered, FUTEX_WAKE_PRIVATE, 1, NULL);
        struct timespec slice = {0, 20 * 1000 * 1000};
        for (int i = 0; i < 250 && !atomic_load(&released); i++) futex(&released, FUTEX_WAIT_PRIVATE, 0, &slice);
    }
    atomic_fetch_sub(&inside, 1);
    errno = saved;
}

/* A real-time signal nobody handles, with our handler on it (once per process). */
static bool install_handler(void) {
    if (stop_signal) return true;
    for (int sig = SIGRTMAX - 1; sig > SIGRTMIN + 2; sig--) {
        struct sigaction old;
        if (sigaction(sig, NULL, &old) != 0 || old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO)) continue;
        struct sigaction sa = {0};
        sa.sa_sigaction = on_stop;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigfillset(&sa.sa_mask);
        if (sigaction(sig, &sa, NULL) == 0) {
            stop_signal = sig;
            return true;
        }
    }
    return false;
}

static bool known(const sw_world *w, pid_t tid) {
    for (size_t i = 0; i < w->n; i++)
        if (w->threads[i].tid == tid) return true;
    return false;
}

typedef struct {
    sw_world *w;
    pid_t self;
    bool skip_own;
    long added; /* -1 once the table is full */
} enumeration;

static bool add_task(const char *name, void *ctx) {
    enumeration *e = ctx;
    pid_t tid = 0;
    for (const char *c = name; *c >= '0' && *c <= '9'; c++) tid = tid * 10 + (*c - '0');
    if (tid <= 0 || tid == e->self || known(e->w, tid) || (e->skip_own && sw_state_is_own_thread(tid))) return true;
    if (e->w->n == e->w->cap) {
        e->added = -1;
        return false;
    }
    e->w->threads[e->w->n++] = (sw_stopped_thread){.tid = tid};
    e->added++;
    return true;
}

/* Adds threads not yet known; returns how many, or -1 on failure. */
static long enumerate(sw_world *w, pid_t self, bool skip_own) {
    int fd = sw_os_open(AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) return -1;
    enumeration e = {.w = w, .self = self, .skip_own = skip_own};
    bool read = sw_os_each_entry(fd, add_task, &e);
    close(fd);
    return read ? e.added : -1;
}

/* Reads /proc/self/task/<tid>/<what> into buf (NUL-terminated); false when it cannot. */
static bool read_task_file(pid_t tid, const char *what, char *buf, size_t cap) {
    char path[64] = "/proc/self/task/";
    size_t n = strlen(path), digits = 0;
    char rev[16];
    for (pid_t t = tid; t > 0 && digits < sizeof rev; t /= 10) rev[digits++] = (char)('0' + t % 10);
    while (digits) path[n++] = rev[--digits];
    path[n++] = '/';
    for (const char *c = what; *c && n < sizeof path - 1; c++) path[n++] = *c;
    path[n] = 0;
    int fd = sw_os_open(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return false;
    ssize_t got = read(fd, buf, cap - 1);
    close(fd);
    if (got <= 0) return false;
    buf[got] = 0;
    return true;
}

static uint64_t parse_hex(const char **p) {
    uint64_t v = 0;
    if ((*p)[0] == '0' && (*p)[1] == 'x') *p += 2;
    for (;; (*p)++) {
        char c = **p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return v;
        v = v * 16 + (uint64_t)d;
    }
}

/* A thread that blocks the stop signal and sleeps in a system call will not answer; its
 * stack pointer is in /proc/self/task/TID/syscall ("nr a1 .. a6 sp pc"). */
static bool accept_asleep(sw_stopped_thread *t) {
    char buf[4096];
    if (!read_task_file(t->tid, "status", buf, sizeof buf)) return false;
    const char *state = strstr(buf, "State:");
    if (!state) return false;
    state += 6;
    while (*state == ' ' || *state == '\t') state++;
    if (*state != 'S' && *state != 'D') return false; /* runnable (even inside sched_yield) */
    const char *blk = strstr(buf, "SigBlk:");
    if (!blk) return false;
    blk += 7;
    while (*blk == ' ' || *blk == '\t') blk++;
    uint64_t blocked = parse_hex(&blk);
    if (!(blocked >> (stop_signal - 1) & 1)) return false; /* it will answer */
    if (!read_task_file(t->tid, "syscall", buf, sizeof buf) || buf[0] < '0' || buf[0] > '9') return false; /* running */
    const char *p = buf;
    for (int field = 0; field < 7; field++) { /* skip nr and the six arguments */
        while (*p && *p != ' ') p++;
        while (*p == ' ') p++;
    }
    uint64_t sp = parse_hex(&p);
    if (!sp) return false;
    t->sp = (uintptr_t)sp;
    atomic_store(&t->state, 3);
    return true;
}

static bool fail(sw_world *w, uint32_t why) {
    w->failure = why;
    return false;
}

bool sw_world_stop(sw_world *w, uint64_t timeout_ns, bool skip_own) {
    *w = (sw_world){.cap = MAX_THREADS};
    w->bytes = (MAX_THREADS * sizeof(sw_stopped_thread) + 4095) & ~(size_t)4095;
    w->threads = sw_os_map(w->bytes, true);
    if (!w->threads) return fail(w, SW_FALLBACK_MEMORY);
    if (!install_handler()) return fail(w, SW_FALLBACK_SIGNAL);
    atomic_store(&released, 0);
    atomic_store(&answered, 0);
    atomic_store(&current, w);
    pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid();
    uint64_t deadline = sw_now_ns(CLOCK_MONOTONIC) + timeout_ns;
    size_t expected = 0;
    /* Threads may start threads until they are stopped: enumerate until nothing is new. */
    for (int round = 0; round < ROUNDS; round++) {
        size_t from = w->n;
        long added = enumerate(w, self, skip_own);
        if (added < 0) return fail(w, SW_FALLBACK_THREADS);
        if (added == 0) return true;
        for (size_t i = from; i < w->n; i++) {
            if (syscall(SYS_tgkill, pid, w->threads[i].tid, stop_signal) == 0) expected++;
            else atomic_store(&w->threads[i].state, 2); /* ended meanwhile */
        }
        uint64_t look_asleep = sw_now_ns(CLOCK_MONOTONIC) + 10000000;
        for (int seen; (size_t)(seen = atomic_load(&answered)) < expected;) {
            uint64_t now = sw_now_ns(CLOCK_MONOTONIC);
            if (now >= look_asleep) { /* after 10 ms: threads that block the signal, asleep */
                look_asleep = UINT64_MAX;
                for (size_t i = 0; i < w->n; i++)
                    if (atomic_load(&w->threads[i].state) == 0 && accept_asleep(&w->threads[i])) expected--;
                continue;
            }
            if (now >= deadline) { /* name the first that did not answer */
                for (size_t i = 0; i < w->n; i++)
                    if (atomic_load(&w->threads[i].state) == 0)
                        return fail(w, SW_FALLBACK_THREAD | ((uint32_t)w->threads[i].tid & 0xFFFFFFu) << 8);
                return fail(w, SW_FALLBACK_THREAD);
            }
            uint64_t left = deadline - now < 10000000 ? deadline - now : 10000000;
            struct timespec slice = {0, (long)left};
            futex(&answered, FUTEX_WAIT_PRIVATE, seen, &slice);
        }
    }
    return fail(w, SW_FALLBACK_THREADS); /* threads kept starting threads */
}

bool sw_world_stopped(sw_world *w, size_t i) { return i < w->n && atomic_load(&w->threads[i].state) == 1; }
bool sw_world_asleep(sw_world *w, size_t i) { return i < w->n && atomic_load(&w->threads[i].state) == 3; }

uint64_t sw_world_release(sw_world *w) {
    atomic_store(&current, NULL);
    atomic_store(&released, 1);
    futex(&released, FUTEX_WAKE_PRIVATE, 1 << 30, NULL);
    uint64_t let_go = sw_now_ns(CLOCK_MONOTONIC);
    /* Handlers still reading the thread list must be out before it is unmapped. */
    uint64_t deadline = sw_now_ns(CLOCK_MONOTONIC) + 1000000000ull;
    while (atomic_load(&inside) && sw_now_ns(CLOCK_MONOTONIC) < deadline) sched_yield();
    if (w->threads && !atomic_load(&inside)) sw_os_unmap(w->threads, w->bytes);
    *w = (sw_world){0};
    return let_go;
}
