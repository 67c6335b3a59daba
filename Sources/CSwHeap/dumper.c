/* Start-up, the background writer of periodic dumps, fork and exit. Dumps are written
 * by a thread that blocks every signal, so allocating threads only ever wait for the
 * brief lock of one live-table stripe while it is copied. */
#define _GNU_SOURCE
#include "shim.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t dump_mutex = PTHREAD_MUTEX_INITIALIZER;
static sem_t wake;
static atomic_int poked, stopping, running;
static pthread_t dumper;
static atomic_int warned;

void sw_warn(sw_warning kind, const char *what, const char *detail, const char *consequence) {
    if (atomic_fetch_or(&warned, 1 << kind) & (1 << kind)) return;
    const char *parts[] = {"swheap: ", what, detail ? ": " : "", detail ? detail : "", "; ", consequence, "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        ssize_t ignored = write(2, parts[i], strlen(parts[i]));
        (void)ignored;
    }
}

static bool periodic(void) { return sw.config.interval_ns || sw.config.dump_bytes || sw.config.signal; }

static void write_dump(bool final) {
    pthread_mutex_lock(&dump_mutex);
    if (!sw_dump_write(final)) sw_warn(SW_WARN_DUMP, "cannot write a dump to", sw.config.dir, "profiling goes on, that epoch is lost");
    pthread_mutex_unlock(&dump_mutex);
}

static struct timespec at_ns(uint64_t ns) {
    return (struct timespec){.tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull)};
}

static void *dumper_main(void *unused) {
    (void)unused;
    sw_tls.busy = 1; /* this thread's own allocations are never sampled */
    uint64_t interval = sw.config.interval_ns;
    /* Started late (see sw_dumper_maybe_start): the first periodic dump may be due at once. */
    uint64_t next = interval ? sw.start_ns + interval : UINT64_MAX;
    while (!atomic_load(&stopping)) {
        struct timespec deadline = at_ns(next == UINT64_MAX ? sw_now_ns(CLOCK_MONOTONIC) + 3600000000000ull : next);
        int r = sem_clockwait(&wake, CLOCK_MONOTONIC, &deadline);
        (void)r;
        if (atomic_load(&stopping)) break;
        uint64_t now = sw_now_ns(CLOCK_MONOTONIC);
        bool due = now >= next, asked = atomic_exchange(&poked, 0);
        if (!due && !asked) continue;
        write_dump(false);
        if (due) {
            next += interval;
            if (next <= now) next = now + interval; /* fell behind: skip, do not burst */
        }
    }
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

void sw_dumper_start(void) {
    if (!periodic() || atomic_exchange(&running, 1)) return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&dumper, NULL, dumper_main, NULL) != 0) {
        atomic_store(&running, 0);
        sw_warn(SW_WARN_THREAD, "cannot start the dump thread", NULL, "only the exit dump will be written");
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Called on the sampled path. The dump thread starts only once it has work: a second thread
 * costs a single-threaded program glibc's lock-free malloc fast path for the rest of its
 * life (about 5% of clang++), so short or quiet programs never get one. It starts when the
 * first interval has passed, when a byte-count dump is asked for, or at once if the program
 * has threads of its own (then it costs nothing). */
void sw_dumper_maybe_start(void) {
    if (SW_LIKELY(atomic_load_explicit(&running, memory_order_relaxed)) || !periodic()) return;
    bool due = !__libc_single_threaded || atomic_load(&poked) ||
               (sw.config.interval_ns && sw_now_ns(CLOCK_MONOTONIC) - sw.start_ns >= sw.config.interval_ns);
    if (due) sw_dumper_start();
}

void sw_dumper_stop(void) {
    if (!atomic_load(&running)) return;
    atomic_store(&stopping, 1);
    sem_post(&wake);
    pthread_join(dumper, NULL);
    atomic_store(&running, 0);
}

/* The first epoch of this program image. A program exec'd in place keeps its pid, and so
 * may a later process that reuses a pid in the same directory: continue after the epochs
 * already there instead of overwriting them (readers tell the images apart by start time). */
static uint32_t first_free_epoch(void) {
    char prefix[24];
    int n = snprintf(prefix, sizeof prefix, "%d.", (int)getpid());
    uint32_t last = 0;
    DIR *dir = opendir(sw.config.dir);
    if (!dir) return 1;
    for (struct dirent *e; (e = readdir(dir));) {
        if (strncmp(e->d_name, prefix, (size_t)n) != 0) continue;
        char *end;
        unsigned long epoch = strtoul(e->d_name + n, &end, 10);
        if (strcmp(end, ".swheap") == 0 && epoch > last && epoch < UINT32_MAX) last = (uint32_t)epoch;
    }
    closedir(dir);
    return last + 1;
}

/* fork: no lock of ours may be held across it; the child starts with clean books. */
static void before_fork(void) {
    sw_tls.busy++;
    sw_lock_acquire(&sw.stacks->lock);
    sw_live_lock_all(&sw_live_storage);
}

static void after_fork_parent(void) {
    sw_live_unlock_all(&sw_live_storage);
    sw_lock_release(&sw.stacks->lock);
    sw_tls.busy--;
}

static void after_fork_child(void) {
    sw_live_unlock_all(&sw_live_storage);
    sw_lock_release(&sw.stacks->lock);
    sw_live_reset(&sw_live_storage);
    sw_stacks_reset_weights(sw.stacks);
    pthread_mutex_init(&dump_mutex, NULL);
    sem_init(&wake, 0, 0);
    atomic_store(&poked, 0);
    atomic_store(&stopping, 0);
    atomic_store(&running, 0);
    atomic_store(&sw.truncated, 0);
    atomic_store(&sw.epoch, first_free_epoch());
    __atomic_store_n(&sw.sampled_bytes, 0, __ATOMIC_RELAXED);
    sw.start_ns = sw_now_ns(CLOCK_MONOTONIC);
    if (sw.config.signal) sw_dumper_start();
    sw_tls.busy--;
}

/* Creates the directory and any missing parents (mode 0700), like mkdir -p. */
static bool usable_directory(const char *dir) {
    char path[sizeof sw.config.dir];
    size_t n = strlen(dir);
    if (n >= sizeof path) return false;
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(path, 0700) != 0 && errno != EEXIST) return false;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST) return false;
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && access(dir, W_OK | X_OK) == 0;
}

__attribute__((constructor)) static void swheap_start(void) {
    sw_tls.busy = 1;
    sw_config_load(&sw.config);
    if (!sw.config.follow) sw_config_stop_following();
    if (sw.config.rate == 0) goto done; /* profiling off */
    if (!usable_directory(sw.config.dir)) {
        sw_warn(SW_WARN_DIRECTORY, "cannot write dumps to", sw.config.dir, "the program runs on unprofiled");
        goto done;
    }
    sw.stacks = sw_stacks_create(1u << 20, (size_t)1 << 30);
    if (!sw.stacks) {
        sw_warn(SW_WARN_MEMORY, "cannot map memory for its tables", NULL, "the program runs on unprofiled");
        goto done;
    }
    sw_unwind_init();
    sem_init(&wake, 0, 0);
    sw.start_ns = sw_now_ns(CLOCK_MONOTONIC);
    atomic_store(&sw.epoch, first_free_epoch());
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    if (sw.config.signal > 0 && sw.config.signal < NSIG) {
        struct sigaction sa = {0};
        sa.sa_handler = on_dump_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(sw.config.signal, &sa, NULL);
    }
    atomic_store_explicit(&sw.ready, 1, memory_order_release);
    /* A signal handler cannot start a thread: with SWHEAP_SIGNAL the writer waits from the
     * start. Otherwise it starts when first needed (sw_dumper_maybe_start). */
    if (sw.config.signal) sw_dumper_start();
done:
    sw_tls.busy = 0;
}

__attribute__((destructor)) static void swheap_finish(void) {
    if (!atomic_load(&sw.ready)) return;
    sw_tls.busy = 1;
    sw_dumper_stop();
    write_dump(true);
}
