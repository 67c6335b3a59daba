/* The dump directory and its files: creating the directory, finding where this process's
 * epochs continue, and writing one file so that a reader never sees half of it. Names are
 * built by hand: no stdio, no malloc on the paths taken after start-up.
 *
 * Every file is reached through a descriptor of the directory (openat, renameat, unlinkat),
 * never through its path: a process that drops privileges keeps writing to the per-user
 * subdirectory handed to it while it was still privileged (userdir.c) although it can no
 * longer search the 0700 directory above it, and a process that chroots keeps its dumps. The
 * descriptor is checked (device and inode) before each use: a daemon that closes every
 * descriptor it did not open, then opens one that gets the same number, must never have a
 * dump written into its own file. */
#define _GNU_SOURCE
#include "sw_config.h"
#include "sw_dumpfile.h"
#include "sw_os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { PATH_BYTES = sizeof ((sw_config *)0)->dir, NAME_BYTES = 104 };

sw_io_calls sw_io = {
    .open = sw_os_openat,
    .write = write,
    .pwrite = pwrite,
    .close = close,
    .rename = renameat,
    .unlink = unlinkat,
    .mkdir = mkdir,
};

sw_io_calls *sw_io_seam(void) { return &sw_io; }

/* A directory held open: its descriptor and identity, and the path said in messages. */
typedef struct {
    int fd;
    dev_t dev;
    ino_t ino;
    uid_t owner;
    char path[PATH_BYTES];
} held_dir;

/* `base`: SWHEAP_DIR as start-up opened it; `user`: its per-user subdirectory after a
 * credential change; `current` points at where dumps go now. */
static held_dir base = {.fd = -1}, user = {.fd = -1};
static held_dir *current = &base;
static int last_error;

static bool fail(int err) {
    last_error = err;
    return false;
}

int sw_dumpfile_error(void) { return last_error; }

void sw_dumpfile_note_error(int err) { last_error = err; }

/* The held descriptor, when it still names the directory it was opened on; -1 otherwise
 * (then reopened by path when that reaches the same directory). */
static int checked(held_dir *d) {
    struct stat st;
    if (d->fd >= 0 && fstat(d->fd, &st) == 0 && st.st_dev == d->dev && st.st_ino == d->ino) return d->fd;
    if (!d->path[0]) return -1; /* never held */
    int fd = sw_os_open(AT_FDCWD, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == d->dev && st.st_ino == d->ino) {
        d->fd = fd; /* the old number is the program's now: never close it */
        return fd;
    }
    if (fd >= 0) close(fd);
    fail(EBADF);
    return -1;
}

/* Keeps `fd` (a directory, opened by sw_os_open) as `d`. */
static bool hold(held_dir *d, int fd, const char *path) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
        int err = errno;
        close(fd);
        return fail(err ? err : ENOTDIR);
    }
    *d = (held_dir){.fd = fd, .dev = st.st_dev, .ino = st.st_ino, .owner = st.st_uid};
    size_t n = strlen(path);
    if (n >= sizeof d->path) n = sizeof d->path - 1;
    memcpy(d->path, path, n);
    d->path[n] = 0;
    return true;
}

bool sw_dumpfile_prepare(const char *dir) {
    char path[PATH_BYTES];
    size_t n = strlen(dir);
    if (n >= sizeof path) return fail(ENAMETOOLONG);
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) { /* like mkdir -p */
        if (*p != '/') continue;
        *p = 0;
        if (sw_io.mkdir(path, 0700) != 0 && errno != EEXIST) return fail(errno);
        *p = '/';
    }
    if (sw_io.mkdir(path, 0700) != 0 && errno != EEXIST) return fail(errno);
    /* Refuse a directory another user could have planted: a symbolic link (dumps would land
     * wherever it points) or one owned by someone else (who could read or swap our files).
     * lstat the name without trailing slashes, which would follow the link. */
    while (n > 1 && path[n - 1] == '/') path[--n] = 0;
    struct stat st;
    if (lstat(path, &st) != 0) return fail(errno);
    if (S_ISLNK(st.st_mode)) {
        sw_warn(SW_WARN_DIRECTORY, "refusing a dump directory that is a symbolic link", dir, "the program runs on unprofiled");
        return fail(ELOOP);
    }
    if (st.st_uid != geteuid()) {
        char detail[PATH_BYTES + 160];
        snprintf(detail, sizeof detail, "%s (owned by uid %u; this process, pid %d (%s), runs as uid %u)", dir,
                 (unsigned)st.st_uid, (int)getpid(), sw_process_name(), (unsigned)geteuid());
        sw_warn(SW_WARN_DIRECTORY, "refusing a dump directory owned by another user", detail,
                "the program runs on unprofiled; give it a SWHEAP_DIR of its own, or start it under swheap from a "
                "parent that drops privileges itself (README, \"Daemons that drop privileges\")");
        return fail(EPERM);
    }
    if (!S_ISDIR(st.st_mode)) return fail(ENOTDIR);
    if (access(path, W_OK | X_OK) != 0) return fail(errno);
    int fd = sw_os_open(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) return fail(errno);
    /* Prepared again (the unit tests): let the old descriptors go, if still ours. */
    if (checked(&base) >= 0) close(base.fd);
    if (checked(&user) >= 0) close(user.fd);
    base.fd = user.fd = -1;
    current = &base;
    last_error = 0;
    return hold(&base, fd, path);
}

const char *sw_dumpfile_path(void) { return current->path; }

uid_t sw_dumpfile_owner(void) { return current->owner; }

uid_t sw_dumpfile_base_owner(void) { return base.owner; }

int sw_dumpfile_base_fd(void) { return checked(&base); }

bool sw_dumpfile_use(int fd, const char *name) {
    if (!name) { /* back to the base directory */
        if (fd >= 0) close(fd);
        current = &base;
        return true;
    }
    held_dir next;
    char path[PATH_BYTES];
    int n = snprintf(path, sizeof path, "%s%s%s", base.path, name ? "/" : "", name ? name : "");
    if (n < 0 || (size_t)n >= sizeof path) {
        close(fd);
        return fail(ENAMETOOLONG);
    }
    if (!hold(&next, fd, path)) return false;
    if (checked(&user) >= 0) close(user.fd);
    user = next;
    current = &user;
    return true;
}

typedef struct {
    char prefix[24];
    int prefix_length;
    uint32_t last;
} newest_epoch;

/* Keeps the highest epoch of this pid's `<pid>.<epoch>.swheap` names. */
static bool note_epoch(const char *name, void *ctx) {
    newest_epoch *scan = ctx;
    if (strncmp(name, scan->prefix, (size_t)scan->prefix_length) != 0) return true;
    char *end;
    unsigned long epoch = strtoul(name + scan->prefix_length, &end, 10);
    if (strcmp(end, ".swheap") == 0 && epoch > scan->last && epoch < UINT32_MAX) scan->last = (uint32_t)epoch;
    return true;
}

/* A program exec'd in place keeps its pid, and so may a later process that reuses a pid in
 * the same directory: continue after the epochs already there instead of overwriting them
 * (readers tell the images apart by start time).
 * getdents64 into a buffer on the stack, not opendir: this runs before main (and in a fork
 * child), and opendir's 32 KB DIR is a block of the program's heap that the program's first
 * allocations reuse once it is freed, while readdir's frames leave the DIR's address on the
 * stack where main's frame later lies. An uninitialised slot of main's keeps it, and the
 * exit scan, reading live frames as LeakSanitizer does, took it for a root. */
uint32_t sw_dumpfile_first_free_epoch(void) {
    newest_epoch scan = {.last = 0};
    scan.prefix_length = snprintf(scan.prefix, sizeof scan.prefix, "%d.", (int)getpid());
    int dir = checked(current);
    int fd = dir < 0 ? -1 : sw_os_open(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) return 1;
    sw_os_each_entry(fd, note_epoch, &scan);
    close(fd);
    return scan.last + 1;
}

static char *append(char *at, const char *s) {
    while (*s) *at++ = *s++;
    return at;
}

static char *append_number(char *at, uint64_t v, int min_digits) {
    char digits[24];
    int n = 0;
    do digits[n++] = (char)('0' + v % 10), v /= 10;
    while (v || n < min_digits);
    while (n) *at++ = digits[--n];
    return at;
}

/* <pid>.<epoch, 6 digits><suffix>, or .<pid>.<epoch><suffix> for a temporary (names within
 * the directory) */
static void named(char *out, bool hidden, uint32_t pid, uint32_t epoch, const char *suffix) {
    char *at = append(out, hidden ? "." : "");
    at = append_number(at, pid, 1);
    at = append(at, ".");
    at = append_number(at, epoch, 6);
    *append(at, suffix) = 0;
}

/* <pid>.<epoch>.swheap, and the temporary .<pid>.<epoch>.tmp */
static void file_name(char *out, bool temporary, uint32_t pid, uint32_t epoch) {
    named(out, temporary, pid, epoch, temporary ? ".tmp" : ".swheap");
}

size_t sw_dumpfile_log_name(char *out, uint32_t pid, uint32_t first_epoch) {
    named(out, false, pid, first_epoch, ".log");
    return strlen(out);
}

int sw_dumpfile_open_log(uint32_t pid, uint32_t first_epoch) {
    char name[NAME_BYTES];
    int dir = checked(current);
    if (dir < 0) return -1;
    named(name, false, pid, first_epoch, ".log");
    /* Truncated: a log of this name can only be left by an earlier image with our pid that
     * died before it wrote any epoch file naming it. */
    int fd = sw_os_open_with(sw_io.open, dir, name, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) fail(errno);
    return fd;
}

/* Deletes `name`; the bytes it held (0 when it was not there). */
static uint64_t remove_file(const char *name) {
    int dir = checked(current);
    if (dir < 0) return 0;
    struct stat info;
    uint64_t bytes = fstatat(dir, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(info.st_mode) ? (uint64_t)info.st_size : 0;
    return sw_io.unlink(dir, name, 0) == 0 ? bytes : 0;
}

uint64_t sw_dumpfile_remove_log(uint32_t pid, uint32_t first_epoch) {
    char name[NAME_BYTES];
    named(name, false, pid, first_epoch, ".log");
    return remove_file(name);
}

uint64_t sw_dumpfile_remove(uint32_t pid, uint32_t epoch) {
    char name[NAME_BYTES];
    file_name(name, false, pid, epoch);
    return remove_file(name);
}

bool sw_dumpfile_write(const char *bytes, size_t len, uint32_t pid, uint32_t epoch) {
    char final_name[NAME_BYTES], temp_name[NAME_BYTES];
    int dir = checked(current);
    if (dir < 0) return false;
    file_name(final_name, false, pid, epoch);
    file_name(temp_name, true, pid, epoch);

    int fd = sw_os_open_with(sw_io.open, dir, temp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) { /* left by an earlier process with our pid */
        sw_io.unlink(dir, temp_name, 0);
        fd = sw_os_open_with(sw_io.open, dir, temp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    }
    if (fd < 0) return fail(errno);
    size_t done = 0;
    int err = 0;
    while (done < len) {
        ssize_t n = sw_io.write(fd, bytes + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            err = n < 0 ? errno : ENOSPC;
            break;
        }
        done += (size_t)n;
    }
    bool closed = sw_io.close(fd) == 0; /* always: a failed write must not leak the descriptor */
    if (!closed && !err) err = errno;
    bool ok = done == len && closed;
    if (ok && sw_io.rename(dir, temp_name, dir, final_name) != 0) {
        err = errno;
        ok = false;
    }
    if (!ok) {
        sw_io.unlink(dir, temp_name, 0);
        return fail(err ? err : EIO);
    }
    return true;
}
