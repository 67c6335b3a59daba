/* The calls that change the effective user: setuid, seteuid, setreuid and setresuid. Each
 * lets userdir.c prepare the directory the new user will write its dumps to, while the
 * process is still privileged, then makes the program's call through the next definition
 * (glibc's, which also changes every other thread's credentials) and reports whether it
 * took. Group calls (setgid, setgroups and friends) are not hooked: the dump directories are
 * 0700, so only the owner decides who can write them. A vfork child (our memory is its
 * parent's) and an unprofiled process pass straight through. */
#define _GNU_SOURCE
#include "sw_lifecycle.h"
#include "sw_os.h"
#include "sw_userdir.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

static int (*next_setuid)(uid_t);
static int (*next_seteuid)(uid_t);
static int (*next_setreuid)(uid_t, uid_t);
static int (*next_setresuid)(uid_t, uid_t, uid_t);

/* Looked up at load (dlsym may allocate; none of these is async-signal-safe anyway). */
__attribute__((constructor)) static void find_next_credentials(void) {
    next_setuid = (int (*)(uid_t))dlsym(RTLD_NEXT, "setuid");
    next_seteuid = (int (*)(uid_t))dlsym(RTLD_NEXT, "seteuid");
    next_setreuid = (int (*)(uid_t, uid_t))dlsym(RTLD_NEXT, "setreuid");
    next_setresuid = (int (*)(uid_t, uid_t, uid_t))dlsym(RTLD_NEXT, "setresuid");
}

/* The effective user after a call that sets it to `e` ((uid_t)-1: unchanged). */
static uid_t effective(uid_t e) { return e == (uid_t)-1 ? geteuid() : e; }

static bool watched(void) { return sw_lifecycle_own_process(); }

static int after(int r) {
    int saved = errno;
    sw_userdir_after(r == 0);
    errno = saved;
    return r;
}

SW_EXPORT int setuid(uid_t uid) {
    if (!watched() || !next_setuid) return next_setuid ? next_setuid(uid) : (int)syscall(SYS_setuid, uid);
    sw_userdir_before(uid);
    return after(next_setuid(uid));
}

SW_EXPORT int seteuid(uid_t euid) {
    if (!watched() || !next_seteuid) return next_seteuid ? next_seteuid(euid) : (int)syscall(SYS_setresuid, -1, euid, -1);
    sw_userdir_before(effective(euid));
    return after(next_seteuid(euid));
}

SW_EXPORT int setreuid(uid_t ruid, uid_t euid) {
    if (!watched() || !next_setreuid) return next_setreuid ? next_setreuid(ruid, euid) : (int)syscall(SYS_setreuid, ruid, euid);
    sw_userdir_before(effective(euid));
    return after(next_setreuid(ruid, euid));
}

SW_EXPORT int setresuid(uid_t ruid, uid_t euid, uid_t suid) {
    if (!watched() || !next_setresuid)
        return next_setresuid ? next_setresuid(ruid, euid, suid) : (int)syscall(SYS_setresuid, ruid, euid, suid);
    sw_userdir_before(effective(euid));
    return after(next_setresuid(ruid, euid, suid));
}
