/* Operating-system helpers that never touch malloc: memory, locks, atomic doubles, the
 * clock and the one-line warnings on stderr. */
#define _GNU_SOURCE
#include "sw_os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void *sw_os_map(size_t bytes, bool reserve) {
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | (reserve ? MAP_NORESERVE : 0);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void sw_os_unmap(void *p, size_t bytes) {
    if (p) munmap(p, bytes);
}

/* Held by another thread: spin on a plain load (no cache-line ping-pong), then yield. */
void sw_lock_wait(sw_lock *l) {
    for (unsigned spins = 0;; spins++) {
        if (!atomic_load_explicit(&l->held, memory_order_relaxed) &&
            !atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
            return;
        if (spins > 64) sched_yield();
        else sw_cpu_relax();
    }
}

void sw_atomic_add_double(_Atomic uint64_t *bits, double delta) {
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed), next;
    do {
        double v;
        memcpy(&v, &old, sizeof v);
        v += delta;
        memcpy(&next, &v, sizeof v);
    } while (!atomic_compare_exchange_weak_explicit(bits, &old, next, memory_order_relaxed, memory_order_relaxed));
}

double sw_atomic_load_double(const _Atomic uint64_t *bits) {
    uint64_t raw = atomic_load_explicit((_Atomic uint64_t *)bits, memory_order_relaxed);
    double v;
    memcpy(&v, &raw, sizeof v);
    return v;
}

uint64_t sw_now_ns(int clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

extern char *program_invocation_short_name;

const char *sw_process_name(void) { return program_invocation_short_name ? program_invocation_short_name : "?"; }

/* One bit per kind: each warning is said once per process image, however often it recurs. */
static atomic_int warned;
void (*sw_warn_sink)(const char *line);

void sw_warn(sw_warning kind, const char *what, const char *detail, const char *consequence) {
    if (atomic_fetch_or(&warned, 1 << kind) & (1 << kind)) return;
    const char *parts[] = {"swheap: ", what, detail ? ": " : "", detail ? detail : "", "; ", consequence, "\n"};
    if (sw_warn_sink) {
        char line[512];
        size_t n = 0;
        for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
            for (const char *c = parts[i]; *c && n + 1 < sizeof line; c++) line[n++] = *c;
        line[n] = 0;
        sw_warn_sink(line);
        return;
    }
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        ssize_t ignored = write(2, parts[i], strlen(parts[i]));
        (void)ignored;
    }
}

bool sw_os_each_entry(int fd, bool (*each)(const char *name, void *ctx), void *ctx) {
    _Alignas(struct dirent64) char buf[4096];
    long got;
    while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < got;) {
            const struct dirent64 *e = (const struct dirent64 *)(buf + off);
            off += e->d_reclen;
            if (!each(e->d_name, ctx)) return true;
        }
    }
    return got == 0;
}

int sw_os_openat(int dir, const char *path, int flags, mode_t mode) { return openat(dir, path, flags, mode); }

int sw_os_open(int dir, const char *path, int flags, mode_t mode) { return sw_os_open_with(sw_os_openat, dir, path, flags, mode); }

int sw_os_open_with(sw_opener opener, int dir, const char *path, int flags, mode_t mode) {
    for (int attempt = 0; attempt < 4; attempt++) {
        int fd = opener(dir, path, flags, mode);
        if (fd < 0 || fd >= SW_OS_FD_FLOOR) return fd;
        int high = fcntl(fd, F_DUPFD_CLOEXEC, SW_OS_FD_FLOOR);
        if (high < 0 && errno != EBADF) return fd; /* no room above the floor: stay low */
        if (high >= 0) {
            struct stat opened, named;
            if (fstat(high, &opened) == 0 && fstatat(dir, path, &named, 0) == 0 && opened.st_dev == named.st_dev &&
                opened.st_ino == named.st_ino) {
                close(fd);
                return high;
            }
            close(high); /* the program's file: its number was taken back before the copy */
        }
        /* Ours was closed by the program: a file it made exclusively is ours to remove. */
        if (flags & O_EXCL) unlinkat(dir, path, 0);
    }
    errno = EBADF;
    return -1;
}
