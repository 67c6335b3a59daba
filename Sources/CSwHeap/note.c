/* The process's note, <pid>.<epoch>.note: a few text lines written by the process itself
 * while it can still create files in SWHEAP_DIR (before a credential change), then held open
 * write-only so that a later failure (errno, uid) is appended even once the process could no
 * longer open the file. A reader (swheap report) lists each noted process that left no dump
 * after the note's epoch, with these lines. Format: docs/FORMAT.md, "Notes". */
#define _GNU_SOURCE
#include "sw_note.h"
#include "sw_os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
    int fd;
    dev_t dev;
    ino_t ino;
    char name[48];
} note = {.fd = -1};

static void write_all(int fd, const char *text) {
    for (size_t len = strlen(text); len;) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        text += n, len -= (size_t)n;
    }
}

/* The held descriptor while it still names the note (a daemon may close every descriptor and
 * reuse the number for a file of its own). */
static int checked(void) {
    struct stat st;
    if (note.fd >= 0 && fstat(note.fd, &st) == 0 && st.st_dev == note.dev && st.st_ino == note.ino) return note.fd;
    note.fd = -1; /* never close a number that may be the program's now */
    return -1;
}

bool sw_note_open(int dir, uint32_t pid, uint32_t epoch, const char *text) {
    if (checked() >= 0) close(note.fd);
    note.fd = -1;
    snprintf(note.name, sizeof note.name, "%u.%06u.note", pid, epoch);
    int fd = sw_os_open(dir, note.name, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return false;
    }
    note.fd = fd, note.dev = st.st_dev, note.ino = st.st_ino;
    write_all(fd, text);
    return true;
}

void sw_note_append(const char *line) {
    int fd = checked();
    if (fd >= 0) write_all(fd, line);
}

void sw_note_discard(int dir) {
    if (checked() < 0) return;
    close(note.fd);
    note.fd = -1;
    unlinkat(dir, note.name, 0);
}

void sw_note_postfork_child(void) {
    if (checked() >= 0) close(note.fd);
    note.fd = -1;
}
