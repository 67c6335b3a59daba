/* The background writer of periodic dumps and its triggers: the interval, SWHEAP_DUMP_BYTES
 * and SWHEAP_SIGNAL; and of live scans: SWHEAP_SCAN_INTERVAL and `swheap scan`, which bumps a
 * counter in the control block (swheap_attach.h) that the writer looks at every
 * SCAN_POLL_NS. Dumps are written by a thread that blocks every signal, so allocating
 * threads only ever wait for the brief lock of one live-table stripe while it is copied. */
#define _GNU_SOURCE
#include "sw_dump.h"
#include "sw_dumper.h"
#include "sw_dumpfile.h"
#include "sw_note.h"
#include "sw_memory.h"
#include "sw_state.h"
#include "sw_control.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t dump_mutex = PTHREAD_MUTEX_INITIALIZER;
static sem_t wake;
static atomic_int poked, stopping, running;
static bool final_written; /* under dump_mutex */
static pthread_t dumper;

/* How soon a `swheap scan` is seen: a wake-up and one load, five times a second. */
#define SCAN_POLL_NS 200000000ull

/* What to change, by the cause of a failed write. */
static const char *remedy(int err) {
    switch (err) {
    case EACCES: case EPERM: case EROFS:
        return "make the directory writable by this uid, or give the process a SWHEAP_DIR it owns (a daemon that "
               "changes user with a raw system call or setfsuid is not seen: README, \"Daemons that drop privileges\")";
    case ENOSPC: case EDQUOT:
        return "free space on its file system, or lower SWHEAP_MAX_BYTES";
    case EBADF: case ENOENT: case ENOTDIR:
        return "the directory was removed or replaced while the program ran; keep SWHEAP_DIR in place";
    default:
        return "check SWHEAP_DIR";
    }
}

/* A dump that could not be written: said once on stderr, naming the process, the cause and
 * what to change; every failure is also appended to the process's note, when it holds one
 * (a process that changed user, note.c), so a reader can say why its dumps are missing. */
static void failed(void) {
    static int noted_errno;
    int err = sw_dumpfile_error();
    if (!err) err = EIO;
    char detail[1400], line[1600];
    snprintf(detail, sizeof detail, "pid %d (%s), uid %u, %s: %s (errno %d)", (int)getpid(), sw_process_name(),
             (unsigned)geteuid(), sw_dumpfile_path(), strerror(err), err);
    if (noted_errno != err) { /* one line per cause, not per epoch */
        snprintf(line, sizeof line, "error %d %u cannot write epoch %u to %s: %s; %s\n", err, (unsigned)geteuid(),
                 sw_state_epoch(), sw_dumpfile_path(), strerror(err), remedy(err));
        sw_note_append(line);
        noted_errno = err;
    }
    char consequence[600];
    snprintf(consequence, sizeof consequence, "profiling goes on but its epochs are lost until this is fixed; %s", remedy(err));
    sw_warn(SW_WARN_DUMP, "cannot write a dump", detail, consequence);
}

static bool periodic(void) { return sw.config.interval_ns || sw.config.dump_bytes || sw.config.signal; }

static void write_dump(bool final, bool ask_allocator, uint32_t live_scan, sw_format_scan *scan) {
    pthread_mutex_lock(&dump_mutex);
    if (final_written) {
        pthread_mutex_unlock(&dump_mutex);
        return;
    }
    final_written = final;
    if (!sw_dump_write(final, ask_allocator, live_scan, scan)) failed();
    pthread_mutex_unlock(&dump_mutex);
}

void sw_dumper_write(bool final, bool ask_allocator) { write_dump(final, ask_allocator, 0, NULL); }

/* Tells `swheap scan` how the scan it asked for went, once its dump is in place. */
static void answer(uint32_t request, const sw_format_scan *scan, uint32_t epoch) {
    swheap_attach_control.scan_epoch = epoch;
    swheap_attach_control.scan_done = (scan->flags & SW_SCAN_DONE) != 0;
    swheap_attach_control.scan_fallback = scan->flags ? scan->fallback : SW_FALLBACK_NONE;
    swheap_attach_control.scan_pause_ns = scan->pause_ns;
    swheap_attach_control.scan_duration_ns = scan->duration_ns;
    swheap_attach_control.scan_cpu_us = scan->cpu_us;
    __atomic_store_n(&swheap_attach_control.scan_answered, request, __ATOMIC_RELEASE);
}

void sw_dumper_hold(void) { pthread_mutex_lock(&dump_mutex); }

void sw_dumper_release(void) { pthread_mutex_unlock(&dump_mutex); }

static struct timespec at_ns(uint64_t ns) {
    return (struct timespec){.tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull)};
}

static void *dumper_main(void *unused) {
    (void)unused;
    sw_tls.busy = 1; /* this thread's own allocations are never sampled */
    sw_state_own_thread(1);
    uint64_t interval = sw.config.interval_ns;
    uint64_t next = interval ? sw.start_ns + interval : UINT64_MAX;
    uint64_t scan_every = sw.config.scan ? sw.config.scan_interval_ns : 0;
    uint64_t next_scan = scan_every ? sw_now_ns(CLOCK_MONOTONIC) + scan_every : UINT64_MAX;
    size_t dir_len = strlen(sw.config.dir); /* for `swheap scan` to name */
    if (dir_len < sizeof swheap_attach_control.dir) memcpy(swheap_attach_control.dir, sw.config.dir, dir_len + 1);
    uint32_t answered = __atomic_load_n(&swheap_attach_control.scan_request, __ATOMIC_ACQUIRE);
    __atomic_store_n(&swheap_attach_control.scan_answered, answered, __ATOMIC_RELEASE);
    __atomic_store_n(&swheap_attach_control.scan_listening, 1u, __ATOMIC_RELEASE);
    while (!atomic_load(&stopping)) {
        uint64_t now = sw_now_ns(CLOCK_MONOTONIC), wake_at = next < next_scan ? next : next_scan;
        if (now + SCAN_POLL_NS < wake_at) wake_at = now + SCAN_POLL_NS;
        struct timespec deadline = at_ns(wake_at == UINT64_MAX ? now + 3600000000000ull : wake_at);
        int r = sem_clockwait(&wake, CLOCK_MONOTONIC, &deadline);
        (void)r;
        if (atomic_load(&stopping)) break;
        now = sw_now_ns(CLOCK_MONOTONIC);
        uint32_t request = __atomic_load_n(&swheap_attach_control.scan_request, __ATOMIC_ACQUIRE);
        bool due = now >= next, asked = atomic_exchange(&poked, 0);
        bool scan_due = now >= next_scan, scan_asked = request != answered;
        if (!due && !asked && !scan_due && !scan_asked) continue;
        uint32_t live_scan = scan_due || scan_asked ? SW_SCAN_LIVE | (scan_asked ? SW_SCAN_ASKED : 0) : 0;
        sw_format_scan scan = {0};
        uint32_t epoch = sw_state_epoch();
        write_dump(false, true, live_scan, &scan);
        if (scan_asked) answer(answered = request, &scan, epoch);
        if (due) {
            next += interval;
            if (next <= now) next = now + interval; /* fell behind: skip, do not burst */
        }
        if (live_scan) next_scan = scan_every ? sw_now_ns(CLOCK_MONOTONIC) + scan_every : UINT64_MAX;
    }
    __atomic_store_n(&swheap_attach_control.scan_listening, 0u, __ATOMIC_RELEASE);
    sw_state_own_thread(-1);
    return NULL;
}

void sw_dumper_poke(void) {
    atomic_store(&poked, 1);
    sem_post(&wake); /* async-signal-safe */
}

static void on_dump_signal(int sig) {
    (void)sig;
    int saved = errno;
    sw_dumper_poke();
    errno = saved;
}

/* Started at start-up (and in a forked child) whenever dumps are periodic, so that any
 * process alive for two intervals has a dump of its heap as of its last allocation, even one
 * that goes idle after start-up. The cost: glibc switches a program to its multi-threaded
 * malloc paths (locked arenas, atomic fastbins) once a second thread exists, so a
 * single-threaded program loses the lock-free path on tcache misses (docs/BENCHMARKS.md).
 * With SWHEAP_INTERVAL=0 (and no SWHEAP_DUMP_BYTES or SWHEAP_SIGNAL) no thread is started
 * and a single-threaded program stays single-threaded. */
void sw_dumper_start(void) {
    if (!periodic() || atomic_exchange(&running, 1)) return;
    /* With a writer, a dump waits for the allocator's figures only so long (memory.c); the
     * asker starts first, so the writer sees it running. */
    sw_memory_start_asker();
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&dumper, NULL, dumper_main, NULL) != 0) {
        atomic_store(&running, 0);
        sw_warn(SW_WARN_THREAD, "cannot start the dump thread", NULL, "only the exit dump will be written");
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void sw_dumper_stop(void) {
    if (!atomic_load(&running)) return;
    atomic_store(&stopping, 1);
    sem_post(&wake);
    pthread_join(dumper, NULL);
    atomic_store(&running, 0);
}

/* Before the first dump can be asked for: the writer's semaphore, and the signal handler
 * when SWHEAP_SIGNAL is set. */
void sw_dumper_init(void) {
    sem_init(&wake, 0, 0);
    if (sw.config.signal > 0 && sw.config.signal < NSIG) {
        struct sigaction sa = {0};
        sa.sa_handler = on_dump_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(sw.config.signal, &sa, NULL);
    }
}

void sw_dumper_postfork_child(void) {
    pthread_mutex_init(&dump_mutex, NULL);
    final_written = false;
    sem_init(&wake, 0, 0);
    atomic_store(&poked, 0);
    atomic_store(&stopping, 0);
    atomic_store(&running, 0);
}
