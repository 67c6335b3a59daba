/* The dump directory and its files: creating the directory, finding where this process's
 * epochs continue, and writing one file so that a reader never sees half of it. Names are
 * built by hand: no stdio, no malloc on the paths taken after start-up. */
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
#include <sys/syscall.h>
#include <unistd.h>

enum { PATH_BYTES = sizeof ((sw_config *)0)->dir };

static int system_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }

sw_io_calls sw_io = {
    .open = system_open,
    .write = write,
    .pwrite = pwrite,
    .close = close,
    .rename = rename,
    .unlink = unlink,
    .mkdir = mkdir,
};

sw_io_calls *sw_io_seam(void) { return &sw_io; }

bool sw_dumpfile_prepare(const char *dir) {
    char path[PATH_BYTES];
    size_t n = strlen(dir);
    if (n >= sizeof path) return false;
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) { /* like mkdir -p */
        if (*p != '/') continue;
        *p = 0;
        if (sw_io.mkdir(path, 0700) != 0 && errno != EEXIST) return false;
        *p = '/';
    }
    if (sw_io.mkdir(path, 0700) != 0 && errno != EEXIST) return false;
    /* Refuse a directory another user could have planted: a symbolic link (dumps would land
     * wherever it points) or one owned by someone else (who could read or swap our files).
     * lstat the name without trailing slashes, which would follow the link. */
    while (n > 1 && path[n - 1] == '/') path[--n] = 0;
    struct stat st;
    if (lstat(path, &st) != 0) return false;
    if (S_ISLNK(st.st_mode)) {
        sw_warn(SW_WARN_DIRECTORY, "refusing a dump directory that is a symbolic link", dir, "the program runs on unprofiled");
        return false;
    }
    if (st.st_uid != geteuid()) {
        sw_warn(SW_WARN_DIRECTORY, "refusing a dump directory owned by another user", dir, "the program runs on unprofiled");
        return false;
    }
    return S_ISDIR(st.st_mode) && access(path, W_OK | X_OK) == 0;
}

/* A program exec'd in place keeps its pid, and so may a later process that reuses a pid in
 * the same directory: continue after the epochs already there instead of overwriting them
 * (readers tell the images apart by start time).
 * getdents64 into a buffer on the stack, not opendir: this runs before main (and in a fork
 * child), and opendir's 32 KB DIR is a block of the program's heap that the program's first
 * allocations reuse once it is freed, while readdir's frames leave the DIR's address on the
 * stack where main's frame later lies. An uninitialised slot of main's keeps it, and the
 * exit scan, reading live frames as LeakSanitizer does, took it for a root. */
uint32_t sw_dumpfile_first_free_epoch(const char *dir_path) {
    char prefix[24];
    int n = snprintf(prefix, sizeof prefix, "%d.", (int)getpid());
    uint32_t last = 0;
    int fd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return 1;
    _Alignas(struct dirent64) char buf[4096];
    for (long got; (got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0;) {
        for (long off = 0; off < got;) {
            const struct dirent64 *e = (const struct dirent64 *)(buf + off);
            off += e->d_reclen;
            if (strncmp(e->d_name, prefix, (size_t)n) != 0) continue;
            char *end;
            unsigned long epoch = strtoul(e->d_name + n, &end, 10);
            if (strcmp(end, ".swheap") == 0 && epoch > last && epoch < UINT32_MAX) last = (uint32_t)epoch;
        }
    }
    close(fd);
    return last + 1;
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

/* <dir>/<pid>.<epoch, 6 digits><suffix>, or <dir>/.<pid>.<epoch><suffix> for a temporary */
static void named(char *out, const char *dir, bool hidden, uint32_t pid, uint32_t epoch, const char *suffix) {
    char *at = append(out, dir);
    at = append(at, hidden ? "/." : "/");
    at = append_number(at, pid, 1);
    at = append(at, ".");
    at = append_number(at, epoch, 6);
    *append(at, suffix) = 0;
}

/* <dir>/<pid>.<epoch>.swheap, and the temporary <dir>/.<pid>.<epoch>.tmp */
static void file_name(char *out, const char *dir, bool temporary, uint32_t pid, uint32_t epoch) {
    named(out, dir, temporary, pid, epoch, temporary ? ".tmp" : ".swheap");
}

size_t sw_dumpfile_log_name(char *out, uint32_t pid, uint32_t first_epoch) {
    named(out, "", false, pid, first_epoch, ".log");
    memmove(out, out + 1, strlen(out)); /* no directory, no slash */
    return strlen(out);
}

int sw_dumpfile_open_log(const char *dir, uint32_t pid, uint32_t first_epoch) {
    char path[PATH_BYTES + 104];
    if (strlen(dir) >= PATH_BYTES) return -1;
    named(path, dir, false, pid, first_epoch, ".log");
    /* Truncated: a log of this name can only be left by an earlier image with our pid that
     * died before it wrote any epoch file naming it. */
    return sw_io.open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* Deletes `path`; the bytes it held (0 when it was not there). */
static uint64_t remove_file(const char *path) {
    struct stat info;
    uint64_t bytes = lstat(path, &info) == 0 && S_ISREG(info.st_mode) ? (uint64_t)info.st_size : 0;
    return sw_io.unlink(path) == 0 ? bytes : 0;
}

uint64_t sw_dumpfile_remove_log(const char *dir, uint32_t pid, uint32_t first_epoch) {
    char path[PATH_BYTES + 104];
    if (strlen(dir) >= PATH_BYTES) return 0;
    named(path, dir, false, pid, first_epoch, ".log");
    return remove_file(path);
}

uint64_t sw_dumpfile_remove(const char *dir, uint32_t pid, uint32_t epoch) {
    char path[PATH_BYTES + 104];
    if (strlen(dir) >= PATH_BYTES) return 0;
    file_name(path, dir, false, pid, epoch);
    return remove_file(path);
}

bool sw_dumpfile_write(const char *dir, const char *bytes, size_t len, uint32_t pid, uint32_t epoch) {
    char final_name[PATH_BYTES + 104], temp_name[PATH_BYTES + 104];
    if (strlen(dir) >= PATH_BYTES) return false;
    file_name(final_name, dir, false, pid, epoch);
    file_name(temp_name, dir, true, pid, epoch);

    int fd = sw_io.open(temp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) { /* left by an earlier process with our pid */
        sw_io.unlink(temp_name);
        fd = sw_io.open(temp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    }
    if (fd < 0) return false;
    size_t done = 0;
    while (done < len) {
        ssize_t n = sw_io.write(fd, bytes + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += (size_t)n;
    }
    bool closed = sw_io.close(fd) == 0; /* always: a failed write must not leak the descriptor */
    bool ok = done == len && closed;
    if (!ok || sw_io.rename(temp_name, final_name) != 0) {
        sw_io.unlink(temp_name);
        return false;
    }
    return true;
}
