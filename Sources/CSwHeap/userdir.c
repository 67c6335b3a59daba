/* A process that changes its effective user keeps being profiled: a root master's workers
 * that switch to `nobody` are where servers leak. Dumps are written as the effective user
 * (the file-system user follows it), and SWHEAP_DIR is 0700 and owned by the user that started
 * profiling, so after the switch every write would fail. Instead, while the process is still
 * privileged (inside the hook of its own setuid/seteuid/setreuid/setresuid call, before the
 * real call):
 *   - SWHEAP_DIR/uid-<N> is created 0700 (or found, and checked: a directory, not a link,
 *     owned by N or by us) and handed to user N with fchown;
 *   - a note <pid>.<epoch>.note is written in SWHEAP_DIR (note.c) and held open;
 *   - after the real call succeeds, dumps go to the subdirectory through the descriptor
 *     opened here (dumpfile.c), which needs no search permission on SWHEAP_DIR: user N never
 *     gains access to SWHEAP_DIR or to root's dumps. The stack log starts afresh there (a
 *     log is read beside its epoch files), as does retention's accounting.
 * Back to SWHEAP_DIR's owner (a temporary seteuid bracket), dumps go back there. Group
 * changes (setgid, setgroups) are not hooked: the directories are 0700, so only the owner
 * matters. The dump lock is held from before the real call to after it, so the writer
 * thread never writes half an epoch as one user and renames it as another (glibc's setxid
 * broadcast changes the writer thread's credentials too). */
#define _GNU_SOURCE
#include "sw_dump.h"
#include "sw_dumper.h"
#include "sw_dumpfile.h"
#include "sw_note.h"
#include "sw_os.h"
#include "sw_state.h"
#include "sw_userdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
    bool held;      /* the dump lock is held between before and after */
    bool noted;     /* a note was opened for this change */
    int prepared;   /* the directory to use after the change, -1 none */
    bool to_base;   /* the change goes back to SWHEAP_DIR's owner */
    char name[32];  /* uid-<N> */
    char remedy[200]; /* what to change when it cannot be prepared */
} change = {.prepared = -1};

/* The subdirectory for `target` under SWHEAP_DIR, ready for it; -1 with errno (and
 * change.remedy said). */
static int prepare(int base, uid_t target) {
    snprintf(change.remedy, sizeof change.remedy, "start the program as root (or with CAP_CHOWN) on a file system that "
             "allows chown, or give SWHEAP_DIR/%s to uid %u beforehand", change.name, (unsigned)target);
    if (mkdirat(base, change.name, 0700) != 0 && errno != EEXIST) return -1;
    int fd = sw_os_open(base, change.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR)
            snprintf(change.remedy, sizeof change.remedy, "SWHEAP_DIR/%s is not a directory (a link or a file): remove it",
                     change.name);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) goto fail;
    if (st.st_uid != target) {
        /* ours (just made, or by an earlier attempt): hand it over; anyone else's: refuse */
        if (st.st_uid != geteuid()) {
            snprintf(change.remedy, sizeof change.remedy, "SWHEAP_DIR/%s belongs to uid %u, not %u: remove it", change.name,
                     (unsigned)st.st_uid, (unsigned)target);
            errno = EPERM;
            goto fail;
        }
        if (fchown(fd, target, getegid()) != 0) goto fail;
    }
    if ((st.st_mode & 077) && fchmod(fd, 0700) != 0) goto fail;
    return fd;
fail:;
    int err = errno;
    close(fd);
    errno = err;
    return -1;
}

void sw_userdir_before(uid_t target) {
    if (!sw_state_is_open()) return;
    sw_tls.busy++;
    sw_dumper_hold();
    change.held = true;
    change.noted = false;
    change.prepared = -1;
    change.to_base = false;
    uid_t now = sw_dumpfile_owner();
    if (target == now) return;
    if (target == sw_dumpfile_base_owner()) {
        change.to_base = true;
        return;
    }
    int base = sw_dumpfile_base_fd();
    if (base < 0) return;
    snprintf(change.name, sizeof change.name, "uid-%u", (unsigned)target);
    change.prepared = prepare(base, target);
    int err = errno;
    uint32_t pid = (uint32_t)getpid(), epoch = sw_state_epoch();
    char text[800];
    int n = snprintf(text, sizeof text, "swheap-note 1\npid %u\ncommand %.200s\nstart_ns %llu\nepoch %u\nuid %u %u\ndir %s\n",
                     pid, sw_process_name(), (unsigned long long)sw.start_ns, epoch, (unsigned)geteuid(), (unsigned)target,
                     change.name);
    if (change.prepared < 0 && n > 0 && (size_t)n < sizeof text)
        snprintf(text + n, sizeof text - (size_t)n,
                 "error %d %u cannot prepare %s/%s for uid %u: %s; %s\n", err, (unsigned)geteuid(), sw_dumpfile_path(),
                 change.name, (unsigned)target, strerror(err), change.remedy);
    change.noted = sw_note_open(base, pid, epoch, text);
    if (change.prepared < 0) {
        char detail[600];
        snprintf(detail, sizeof detail, "%s/%s for uid %u, pid %d (%s): %s (errno %d)", sw_dumpfile_path(), change.name,
                 (unsigned)target, (int)getpid(), sw_process_name(), strerror(err), err);
        char consequence[300];
        snprintf(consequence, sizeof consequence, "the process's dumps after the change are lost; %s", change.remedy);
        sw_warn(SW_WARN_DIRECTORY, "cannot prepare a dump directory for a change of user", detail, consequence);
    }
}

void sw_userdir_after(bool changed) {
    if (!change.held) return;
    if (changed && (change.prepared >= 0 || change.to_base)) {
        /* The next epoch starts a new stack log in the new directory (a log is read beside
         * its epoch files) and retention counts from there; the epochs before stay put. */
        if (sw_dumpfile_use(change.prepared, change.to_base ? NULL : change.name)) sw_dump_moved();
    } else {
        if (change.prepared >= 0) close(change.prepared);
        if (!changed && change.noted) sw_note_discard(sw_dumpfile_base_fd());
    }
    change.prepared = -1;
    change.held = false;
    sw_dumper_release();
    sw_tls.busy--;
}
