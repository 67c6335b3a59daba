/* swheap-attach: the injector behind `swheap attach` and `swheap detach` (the Swift command
 * runs it; it is installed beside libswheap.so). A small C program of its own because
 * ptrace binds a tracee to one thread of the tracer, and because a crash or kill of it must
 * never take the target along (inject.c says how).
 *
 *   swheap-attach check PID SHIM                        every check of attach, touching nothing
 *   swheap-attach attach PID SHIM SETTINGS [TIMEOUT_S]  load SHIM into PID and start profiling
 *   swheap-attach detach PID [TIMEOUT_S]                stop profiling, put the process back
 *   swheap-attach scan PID [TIMEOUT_S]                  a live scan now; waits for its dump
 *   swheap-attach status PID                            what the shim in PID says
 *
 * Success: key=value lines on stdout, exit 0. Failure: one line on stdout saying why and what
 * to change, exit 1; the target is untouched. SETTINGS are the shim's "key=value" lines
 * (attach.c, parse_settings). */
#define _GNU_SOURCE
#include "inject.h"
#include "swheap_attach.h"
#include "target.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    for (char *c = line; *c; c++)
        if (*c == '\n') *c = ' ';
    printf("%s\n", line);
    fflush(stdout);
    return 1;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static bool parse_pid(const char *s, pid_t *pid) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v <= 0 || v > INT_MAX) return false;
    *pid = (pid_t)v;
    return true;
}

static const char *user_name(uid_t uid, char *buf, size_t len) {
    struct passwd *pw = getpwuid(uid);
    if (pw) snprintf(buf, len, "%s (uid %u)", pw->pw_name, (unsigned)uid);
    else snprintf(buf, len, "uid %u", (unsigned)uid);
    return buf;
}

static bool has_cap_sys_ptrace(void) {
    char caps[64];
    if (!proc_status_field(getpid(), "CapEff", caps, sizeof caps)) return geteuid() == 0;
    unsigned long long v = strtoull(caps, NULL, 16);
    return (v >> 19) & 1; /* CAP_SYS_PTRACE */
}

static int yama_scope(void) {
    const char *file = getenv("SWHEAP_ATTACH_YAMA_FILE"); /* tests put a scope of their own here */
    char text[16];
    if (read_small_file(file ? file : "/proc/sys/kernel/yama/ptrace_scope", text, sizeof text) <= 0) return 0;
    return atoi(text);
}

/* Why ptrace (or reading the target's memory) was refused, and what to change. */
static int explain_permission(pid_t pid) {
    char field[128], who[96], me[96];
    if (proc_status_field(pid, "TracerPid", field, sizeof field) && atoi(field) != 0)
        return fail("process %d is already being traced by process %d (a debugger?): detach that first", (int)pid, atoi(field));
    uid_t target_uid = (uid_t)-1;
    if (proc_status_field(pid, "Uid", field, sizeof field)) target_uid = (uid_t)strtoul(field, NULL, 10);
    bool cap = has_cap_sys_ptrace();
    int scope = yama_scope();
    if (scope >= 3)
        return fail("cannot attach to process %d: ptrace is disabled on this system (kernel.yama.ptrace_scope is 3 until reboot)", (int)pid);
    if (target_uid != geteuid() && !cap) {
        if (geteuid() == 0)
            return fail("cannot attach to process %d of %s: swheap runs as root but without CAP_SYS_PTRACE (a container?); "
                        "add the capability (docker run --cap-add=SYS_PTRACE, or a pod's securityContext.capabilities.add: [SYS_PTRACE])",
                        (int)pid, user_name(target_uid, who, sizeof who));
        return fail("cannot attach to process %d: it belongs to %s and swheap runs as %s; run swheap attach as that user or as root",
                    (int)pid, user_name(target_uid, who, sizeof who), user_name(geteuid(), me, sizeof me));
    }
    if (scope == 2 && !cap)
        return fail("cannot attach to process %d: kernel.yama.ptrace_scope is 2 (only CAP_SYS_PTRACE may attach); run swheap attach as root",
                    (int)pid);
    if (scope == 1 && !cap)
        return fail("cannot attach to process %d: kernel.yama.ptrace_scope is 1 (a process may only ptrace its own children); "
                    "run swheap attach as root (or with CAP_SYS_PTRACE), or allow it with sysctl kernel.yama.ptrace_scope=0",
                    (int)pid);
    char proc[64];
    struct stat st;
    snprintf(proc, sizeof proc, "/proc/%d/maps", (int)pid); /* root-owned when not dumpable */
    if (stat(proc, &st) == 0 && st.st_uid == 0 && target_uid != 0 && !cap)
        return fail("cannot attach to process %d: it is not dumpable (set-user-ID, or prctl(PR_SET_DUMPABLE, 0)); only root may attach",
                    (int)pid);
    char seccomp[16];
    if (proc_status_field(getpid(), "Seccomp", seccomp, sizeof seccomp) && atoi(seccomp) != 0)
        return fail("cannot attach to process %d: a seccomp filter on swheap forbids ptrace (a container's default profile?); "
                    "allow it (docker run --cap-add=SYS_PTRACE, or --security-opt seccomp=unconfined)",
                    (int)pid);
    return fail("cannot attach to process %d: ptrace was refused (a security module?)%s", (int)pid,
                cap ? "" : "; try as root");
}

/* Checks that need no ptrace: the process exists, is a process, runs, is 64-bit dynamic glibc. */
static int check_process(pid_t pid) {
    if (pid == getpid() || pid == getppid()) return fail("cannot attach to swheap itself");
    if (kill(pid, 0) != 0 && errno == ESRCH) return fail("no process with pid %d", (int)pid);
    char field[128];
    if (!proc_status_field(pid, "Tgid", field, sizeof field)) return fail("no process with pid %d", (int)pid);
    pid_t tgid = (pid_t)atoi(field);
    if (tgid != pid) return fail("%d is a thread of process %d: give the process id", (int)pid, (int)tgid);
    if (proc_status_field(pid, "State", field, sizeof field)) {
        if (field[0] == 'Z' || field[0] == 'X') return fail("process %d has exited", (int)pid);
        if (field[0] == 'T' || field[0] == 't')
            return fail("process %d is stopped (SIGSTOP, or a debugger holds it): continue it first", (int)pid);
    }
    if (proc_status_field(pid, "TracerPid", field, sizeof field) && atoi(field) != 0)
        return fail("process %d is already being traced by process %d (a debugger?): detach that first", (int)pid, atoi(field));
    if (proc_status_field(pid, "x86_Thread_features", field, sizeof field) && strstr(field, "shstk"))
        return fail("process %d runs with shadow stacks (CET): swheap attach cannot make calls in it; start it under swheap run", (int)pid);
    char exe[64];
    snprintf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
    elf_file f;
    if (!elf_open(0, exe, &f)) {
        if (errno == EACCES || errno == EPERM) return explain_permission(pid);
        if (errno == ENOENT) return fail("process %d has no executable (a kernel thread?)", (int)pid);
        return fail("cannot read the executable of process %d: %s", (int)pid, strerror(errno));
    }
    bool is_64 = false, interp = false;
    bool x86 = elf_is_x86_64(&f, &is_64, &interp);
    elf_close(&f);
    if (!is_64) return fail("process %d is a 32-bit program: swheap attach supports 64-bit x86-64 programs only", (int)pid);
    if (!x86) return fail("process %d is not an x86-64 program: swheap attach supports x86-64 only", (int)pid);
    if (!interp)
        return fail("process %d is statically linked: swheap attach needs a dynamically linked glibc program (it loads a library)", (int)pid);
    return 0;
}

/* libswheap.so in the target, if loaded: its base and its control variable's address. */
typedef struct {
    bool loaded;
    char path[4096];
    uintptr_t base, control, attach_fn;
} loaded_shim;

static bool find_loaded_shim(pid_t pid, const mapping_list *maps, loaded_shim *out) {
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < maps->n; i++) {
        const char *slash = strrchr(maps->v[i].path, '/');
        if (!slash || strncmp(slash + 1, "libswheap", 9) != 0 || maps->v[i].offset != 0) continue;
        out->loaded = true;
        snprintf(out->path, sizeof out->path, "%s", maps->v[i].path);
        elf_file f;
        if (!elf_open(pid, out->path, &f)) return true;
        uintptr_t bias = maps->v[i].lo - elf_first_load(&f);
        out->base = bias;
        uint64_t v;
        if (elf_symbol(&f, "swheap_attach_control", &v, NULL)) out->control = bias + v;
        if (elf_symbol(&f, "swheap_attach", &v, NULL)) out->attach_fn = bias + v;
        elf_close(&f);
        return true;
    }
    return false;
}

static bool read_control(pid_t pid, uintptr_t at, sw_attach_control *c) {
    struct iovec local = {c, sizeof *c}, remote = {(void *)at, sizeof *c};
    if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof *c) return false;
    c->message[SW_ATTACH_MESSAGE - 1] = 0;
    c->dir[SW_ATTACH_DIR - 1] = 0;
    return c->magic == SW_ATTACH_MAGIC && c->protocol == SW_ATTACH_PROTOCOL;
}

static const char *state_name(uint32_t s) {
    static const char *const names[] = {"dormant", "preloaded", "starting", "attached", "detaching", "detached", "failed"};
    return s < sizeof names / sizeof *names ? names[s] : "unknown";
}

static void print_control(const sw_attach_control *c) {
    printf("state=%s\n", state_name(c->state));
    printf("dir=%s\n", c->dir);
    printf("session=%u\n", c->session);
    printf("patched=%u\n", c->patched);
    printf("attached_wall_ns=%llu\n", (unsigned long long)c->attached_wall_ns);
    printf("detached_wall_ns=%llu\n", (unsigned long long)c->detached_wall_ns);
    if (c->heap_before_known) printf("heap_before_bytes=%llu\n", (unsigned long long)c->heap_before_bytes);
    if (c->message[0]) printf("message=%s\n", c->message);
}

/* The target is in another mount namespace when its root is not ours: the shim's path must
 * then name the same file inside it. */
static bool shim_visible(pid_t pid, const char *shim) {
    char inside[4096 + 64];
    snprintf(inside, sizeof inside, "/proc/%d/root%s", (int)pid, shim);
    struct stat a, b;
    return stat(shim, &a) == 0 && stat(inside, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int do_attach(pid_t pid, const char *shim_arg, const char *settings, double timeout_s, bool check_only) {
    int r = check_process(pid);
    if (r) return r;
    char shim[PATH_MAX];
    if (!realpath(shim_arg, shim)) return fail("cannot find %s: %s", shim_arg, strerror(errno));
    target t;
    char why[1024];
    mapping_list maps;
    if (!maps_read(pid, &maps)) {
        if (errno == EACCES || errno == EPERM) return explain_permission(pid);
        if (errno == ENOENT || errno == ESRCH) return fail("process %d exited during attach", (int)pid);
        return fail("cannot read /proc/%d/maps: %s", (int)pid, strerror(errno));
    }
    loaded_shim loaded;
    uintptr_t base = 0, attach_fn = 0;
    if (find_loaded_shim(pid, &maps, &loaded)) {
        sw_attach_control c;
        if (!loaded.control || !read_control(pid, loaded.control, &c)) {
            maps_free(&maps);
            return fail("process %d is already profiled by swheap: %s is loaded (LD_PRELOAD)", (int)pid, loaded.path);
        }
        if (c.state == SW_ATTACH_PRELOADED) {
            maps_free(&maps);
            return fail("process %d is already profiled by swheap: it was started with libswheap.so preloaded (swheap run or LD_PRELOAD)",
                        (int)pid);
        }
        if (c.state == SW_ATTACH_STARTING || c.state == SW_ATTACH_ATTACHED || c.state == SW_ATTACH_DETACHING) {
            maps_free(&maps);
            return fail("process %d is already profiled by swheap: attached earlier, dumps go to %s; run swheap detach %d first", (int)pid,
                        c.dir, (int)pid);
        }
        base = loaded.base; /* loaded by an earlier attach and detached since: attach again */
        attach_fn = loaded.attach_fn;
    } else {
        if (!shim_visible(pid, shim)) {
            maps_free(&maps);
            return fail("process %d runs in another mount namespace (a container) where %s is not the same file; "
                        "make libswheap.so visible at that path inside it",
                        (int)pid, shim);
        }
        elf_file f;
        if (!elf_open(0, shim, &f)) {
            maps_free(&maps);
            return fail("cannot read %s: %s", shim, strerror(errno));
        }
        uint64_t v;
        if (elf_symbol(&f, "swheap_attach", &v, NULL)) attach_fn = v - elf_first_load(&f);
        elf_close(&f);
        if (!attach_fn) {
            maps_free(&maps);
            return fail("%s has no swheap_attach: rebuild it with scripts/build", shim);
        }
    }
    maps_free(&maps);
    if (check_only) {
        printf("state=%s\n", base ? "detached" : "none");
        return 0;
    }
    if (!inject_prepare(&t, pid, why, sizeof why)) {
        if (errno == EACCES || errno == EPERM) return explain_permission(pid);
        return fail("%s", why);
    }
    inject_report report;
    uint64_t started = now_ns();
    bool ok = inject_attach(&t, base ? loaded.path : shim, base, base ? attach_fn - base : attach_fn, settings,
                            (uint64_t)(timeout_s * 1e9), &report, why, sizeof why);
    if (!ok) {
        inject_release(&t);
        if (strcmp(why, "EPERM") == 0) return explain_permission(pid);
        return fail("%s", why);
    }
    /* The call runs on its own: wait for the library's constructor and control thread to say
     * attached, or for the call to end without loading it. */
    sw_attach_control c;
    uint64_t deadline = now_ns() + 10000000000ull;
    uintptr_t control = base ? loaded.control : 0;
    for (;;) {
        if (kill(pid, 0) != 0) {
            inject_release(&t);
            return fail("process %d exited during attach", (int)pid);
        }
        if (!control) {
            mapping_list now;
            if (maps_read(pid, &now)) {
                if (find_loaded_shim(pid, &now, &loaded)) control = loaded.control;
                maps_free(&now);
            }
        }
        bool running = inject_call_running(&t, &report);
        uint32_t state = control && read_control(pid, control, &c) ? c.state : SW_ATTACH_DORMANT;
        if (state == SW_ATTACH_ATTACHED) break;
        if (state == SW_ATTACH_FAILED || (!running && state == SW_ATTACH_DETACHED)) {
            inject_release(&t);
            return fail("cannot attach to process %d: %s", (int)pid, c.message[0] ? c.message : "the shim did not start");
        }
        if (!running && state == SW_ATTACH_DORMANT && control && !base) {
            /* A load that fails after mapping the library (no static TLS left) unmaps it
             * again: seen mapped earlier, it is gone now, and the failure is explained below. */
            mapping_list now;
            bool still_loaded = true;
            if (maps_read(pid, &now)) {
                still_loaded = find_loaded_shim(pid, &now, &loaded);
                maps_free(&now);
            }
            if (still_loaded) {
                inject_release(&t);
                return fail("cannot attach to process %d: libswheap.so loaded but did not start", (int)pid);
            }
            control = 0;
        }
        if (!running && state == SW_ATTACH_DORMANT && !control) {
            inject_explain_load_failure(&t, shim, why, sizeof why);
            inject_release(&t);
            return fail("%s", why);
        }
        if (now_ns() > deadline) {
            inject_release(&t);
            return fail("process %d did not finish attaching within 10 s", (int)pid);
        }
        sleep_ms(1);
    }
    inject_release(&t);
    printf("traced=%d\n", report.traced);
    printf("thread=%d\n", (int)report.thread);
    printf("safe_point=%s\n", report.safe_point);
    printf("borrowed_us=%.0f\n", (double)report.borrowed_ns / 1e3);
    printf("tries=%llu\n", (unsigned long long)report.tries);
    printf("attach_us=%.0f\n", (double)(now_ns() - started) / 1e3);
    print_control(&c);
    return 0;
}

/* Looks for the shim in `pid`: 0 with `found` (and `loaded`) set, or the status of the one-line
 * error said (no such process, no permission). */
static int locate_shim(pid_t pid, loaded_shim *loaded, bool *found) {
    if (kill(pid, 0) != 0 && errno == ESRCH) return fail("no process with pid %d", (int)pid);
    mapping_list maps;
    if (!maps_read(pid, &maps)) {
        if (errno == EACCES || errno == EPERM) return explain_permission(pid);
        return fail("no process with pid %d", (int)pid);
    }
    *found = find_loaded_shim(pid, &maps, loaded);
    maps_free(&maps);
    return 0;
}

static int do_detach(pid_t pid, double timeout_s) {
    loaded_shim loaded;
    bool found = false;
    int status = locate_shim(pid, &loaded, &found);
    if (status) return status;
    if (!found) return fail("process %d is not profiled by swheap (libswheap.so is not loaded in it)", (int)pid);
    sw_attach_control c;
    if (!loaded.control || !read_control(pid, loaded.control, &c)) {
        if (errno == EPERM || errno == EACCES) return explain_permission(pid);
        return fail("process %d was started with libswheap.so preloaded; it is profiled until it exits", (int)pid);
    }
    if (c.state == SW_ATTACH_PRELOADED)
        return fail("process %d was started with libswheap.so preloaded (swheap run or LD_PRELOAD); it is profiled until it exits", (int)pid);
    if (c.state != SW_ATTACH_ATTACHED && c.state != SW_ATTACH_STARTING && c.state != SW_ATTACH_DETACHING)
        return fail("process %d is not attached (swheap attach %d starts profiling it)", (int)pid, (int)pid);
    uint32_t request = SW_ATTACH_REQUEST_DETACH;
    struct iovec local = {&request, sizeof request},
                 remote = {(void *)(loaded.control + offsetof(sw_attach_control, request)), sizeof request};
    if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof request) {
        if (errno == EPERM || errno == EACCES) return explain_permission(pid);
        return fail("process %d exited during detach", (int)pid);
    }
    uint64_t deadline = now_ns() + (uint64_t)(timeout_s * 1e9);
    for (;;) {
        if (!read_control(pid, loaded.control, &c)) return fail("process %d exited during detach", (int)pid);
        if (c.state == SW_ATTACH_DETACHED) break;
        if (now_ns() > deadline)
            return fail("process %d did not finish detaching within %.0f s (its last dump is still being written?)", (int)pid, timeout_s);
        sleep_ms(5);
    }
    print_control(&c);
    return 0;
}

/* Asks the writer thread for a live scan (a counter it looks at five times a second) and
 * waits until the dump that carries it is in place. */
static int do_scan(pid_t pid, double timeout_s) {
    loaded_shim loaded;
    bool found = false;
    int status = locate_shim(pid, &loaded, &found);
    if (status) return status;
    if (!found) return fail("process %d is not profiled by swheap; swheap attach %d starts profiling it", (int)pid, (int)pid);
    sw_attach_control c;
    if (!loaded.control || !read_control(pid, loaded.control, &c)) {
        if (errno == EPERM || errno == EACCES) return explain_permission(pid);
        return fail("process %d runs a libswheap.so of another version, which cannot be asked for a scan", (int)pid);
    }
    if (c.state != SW_ATTACH_PRELOADED && c.state != SW_ATTACH_ATTACHED)
        return fail("process %d is not being profiled (%s); swheap attach %d starts profiling it", (int)pid, state_name(c.state),
                    (int)pid);
    if (!c.scan_listening)
        return fail("process %d writes no periodic dumps (SWHEAP_INTERVAL=0), so nothing in it can scan; "
                    "start it with an interval, or scan at exit only",
                    (int)pid);
    uint32_t request = c.scan_request + 1;
    struct iovec local = {&request, sizeof request},
                 remote = {(void *)(loaded.control + offsetof(sw_attach_control, scan_request)), sizeof request};
    if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof request) {
        if (errno == EPERM || errno == EACCES) return explain_permission(pid);
        return fail("process %d exited before its scan", (int)pid);
    }
    uint64_t deadline = now_ns() + (uint64_t)(timeout_s * 1e9);
    for (;;) {
        if (!read_control(pid, loaded.control, &c)) return fail("process %d exited during its scan", (int)pid);
        if (c.scan_answered == request) break;
        if (!c.scan_listening) return fail("process %d stopped profiling (detached or exiting) before its scan", (int)pid);
        if (now_ns() > deadline)
            return fail("process %d did not finish its scan within %.0f s (a heap of many GiB? its dump will still carry it)",
                        (int)pid, timeout_s);
        sleep_ms(20);
    }
    printf("dir=%s\n", c.dir);
    printf("epoch=%u\n", c.scan_epoch);
    printf("scanned=%u\n", c.scan_done);
    printf("fallback=%u\n", c.scan_fallback);
    printf("pause_ns=%llu\n", (unsigned long long)c.scan_pause_ns);
    printf("duration_ns=%llu\n", (unsigned long long)c.scan_duration_ns);
    printf("cpu_us=%u\n", c.scan_cpu_us);
    return 0;
}

static int do_status(pid_t pid) {
    loaded_shim loaded;
    bool found = false;
    int status = locate_shim(pid, &loaded, &found);
    if (status) return status;
    if (!found) {
        printf("state=none\n");
        return 0;
    }
    sw_attach_control c;
    if (!loaded.control || !read_control(pid, loaded.control, &c)) {
        if (errno == EPERM || errno == EACCES) return explain_permission(pid);
        printf("state=preloaded\n");
        return 0;
    }
    print_control(&c);
    return 0;
}

int main(int argc, char **argv) {
    /* Ctrl-C reaches the whole process group: the attach takes milliseconds and must not be
     * cut short (the target would be fine, but half attached); the swheap command decides. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    pid_t pid;
    if (argc >= 5 && strcmp(argv[1], "attach") == 0) {
        if (!parse_pid(argv[2], &pid)) return fail("not a process id: %s", argv[2]);
        double timeout = argc > 5 ? atof(argv[5]) : 5;
        return do_attach(pid, argv[3], argv[4], timeout > 0 ? timeout : 5, false);
    }
    if (argc >= 4 && strcmp(argv[1], "check") == 0) {
        if (!parse_pid(argv[2], &pid)) return fail("not a process id: %s", argv[2]);
        return do_attach(pid, argv[3], "", 0, true);
    }
    if (argc >= 3 && strcmp(argv[1], "detach") == 0) {
        if (!parse_pid(argv[2], &pid)) return fail("not a process id: %s", argv[2]);
        double timeout = argc > 3 ? atof(argv[3]) : 60;
        return do_detach(pid, timeout > 0 ? timeout : 60);
    }
    if (argc >= 3 && strcmp(argv[1], "scan") == 0) {
        if (!parse_pid(argv[2], &pid)) return fail("not a process id: %s", argv[2]);
        double timeout = argc > 3 ? atof(argv[3]) : 600;
        return do_scan(pid, timeout > 0 ? timeout : 600);
    }
    if (argc >= 3 && strcmp(argv[1], "status") == 0) {
        if (!parse_pid(argv[2], &pid)) return fail("not a process id: %s", argv[2]);
        return do_status(pid);
    }
    fprintf(stderr, "usage: swheap-attach check PID SHIM | attach PID SHIM SETTINGS [TIMEOUT_S] | detach PID [TIMEOUT_S] | scan PID [TIMEOUT_S] | status PID\n");
    return 2;
}
