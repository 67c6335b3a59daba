/* Settings from the environment, read once at start-up (getenv is safe there). */
#define _GNU_SOURCE
#include "sw_config.h"
#include "sw_os.h"
#include "sw_stacks.h"
#include "swheap_format.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char *program_invocation_short_name;

/* A whole decimal number no larger than `max`; anything else is said once and ignored. No
 * sign, no spaces: strtoull would take "-1" as 2^64-1. */
static uint64_t number(const char *name, uint64_t fallback, uint64_t max) {
    const char *v = getenv(name);
    if (!v || !*v) return fallback;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (*v < '0' || *v > '9' || errno || *end || n > max) {
        sw_warn(SW_WARN_SETTING, "ignoring a malformed or out-of-range setting", name, "using its default");
        return fallback;
    }
    return n;
}

/* Seconds, as a non-negative finite number up to MAX_SECONDS (so nanoseconds fit 64 bits). */
enum { MAX_SECONDS = 1000000000 };

static uint64_t seconds_ns(const char *name, double fallback) {
    const char *v = getenv(name);
    double s = fallback;
    if (v && *v) {
        char *end;
        double parsed = strtod(v, &end);
        if (*end || !(parsed >= 0 && parsed <= MAX_SECONDS))
            sw_warn(SW_WARN_SETTING, "ignoring a malformed or out-of-range setting", name, "using its default");
        else s = parsed;
    }
    return (uint64_t)(s * 1e9);
}

static bool flag(const char *name, bool fallback) {
    const char *v = getenv(name);
    if (!v || !*v) return fallback;
    return !(strcmp(v, "0") == 0 || strcmp(v, "no") == 0 || strcmp(v, "false") == 0);
}

void sw_config_load(sw_config *c) {
    c->follow = true;
    /* Set-user-ID and set-group-ID programs (and other secure-execution starts) are never
     * profiled: their dumps would expose a privileged heap to whoever set the environment. */
    if (getauxval(AT_SECURE)) {
        sw_warn(SW_WARN_SETTING, "not profiling a program started in secure-execution mode", "set-user-ID or set-group-ID",
                "the program runs on unprofiled");
        c->rate = 0;
        return;
    }
    c->rate = number("SWHEAP_RATE", 524288, SW_FORMAT_MAX_RATE);
    uint64_t depth = number("SWHEAP_DEPTH", 64, UINT64_MAX);
    c->depth = (uint32_t)(depth < 1 ? 1 : depth > SW_MAX_DEPTH ? SW_MAX_DEPTH : depth);
    c->interval_ns = seconds_ns("SWHEAP_INTERVAL", 10);
    c->dump_bytes = number("SWHEAP_DUMP_BYTES", 0, UINT64_MAX);
    c->signal = (int)number("SWHEAP_SIGNAL", 0, (uint64_t)SIGRTMAX);
    if (c->signal && !sw_config_signal_allowed(c->signal)) {
        /* the same line as any other bad setting: SIGKILL and SIGSTOP cannot be caught,
         * and taking SIGSEGV and the like from the program would break it */
        sw_warn(SW_WARN_SETTING, "ignoring a malformed or out-of-range setting", "SWHEAP_SIGNAL", "using its default");
        c->signal = 0;
    }
    c->keep = number("SWHEAP_KEEP", SW_DEFAULT_KEEP, UINT32_MAX);
    c->max_bytes = number("SWHEAP_MAX_BYTES", SW_DEFAULT_MAX_BYTES, UINT64_MAX);
    c->follow = flag("SWHEAP_FOLLOW", true);
    c->scan = flag("SWHEAP_SCAN", true);
    c->scan_max_bytes = number("SWHEAP_SCAN_MAX_BYTES", SW_DEFAULT_SCAN_MAX_BYTES, UINT64_MAX);
    c->scan_interval_ns = seconds_ns("SWHEAP_SCAN_INTERVAL", SW_DEFAULT_SCAN_INTERVAL_S);
    const char *unwind = getenv("SWHEAP_UNWIND");
    c->frame_pointers = unwind && strcmp(unwind, "fp") == 0;

    /* Room for "/<pid>.<epoch>.swheap" and the temporary name after the directory. */
    const size_t room = sizeof c->dir - 64;
    const char *dir = getenv("SWHEAP_DIR");
    char *at = c->dir;
    char *end = c->dir + room;
    if (!dir || !*dir) {
        /* Default: ./swheap.<program>.<pid>, made absolute and exported so children that
         * chdir or exec keep writing next to their parent. */
        if (!getcwd(c->dir, sizeof c->dir - 300)) strcpy(c->dir, ".");
        at = c->dir + strlen(c->dir);
        const char *name = program_invocation_short_name ? program_invocation_short_name : "program";
        at += snprintf(at, (size_t)(end - at), "/swheap.%.200s.%d", name, (int)getpid());
        setenv("SWHEAP_DIR", c->dir, 1);
        return;
    }
    /* Never a truncated path: that would be some other directory. */
    bool fits;
    if (dir[0] != '/' && getcwd(c->dir, sizeof c->dir - 300)) {
        at = c->dir + strlen(c->dir);
        int n = snprintf(at, (size_t)(end - at), "/%s", dir);
        fits = n >= 0 && n < end - at;
        if (fits) setenv("SWHEAP_DIR", c->dir, 1);
    } else {
        fits = strlen(dir) < room;
        if (fits) memcpy(c->dir, dir, strlen(dir) + 1);
    }
    if (!fits) {
        c->dir[0] = 0;
        sw_warn(SW_WARN_DIRECTORY, "the dump directory path is too long", "SWHEAP_DIR", "the program runs on unprofiled");
        c->rate = 0;
    }
}

bool sw_config_signal_allowed(int sig) {
    switch (sig) {
    case SIGKILL: case SIGSTOP:                            /* cannot be caught */
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE:   /* the program's own faults */
    case SIGTRAP: case SIGSYS: case SIGABRT:
        return false;
    default:
        return sig > 0 && sig <= SIGRTMAX;
    }
}

/* SWHEAP_FOLLOW=0: exec'd children run without the shim. */
void sw_config_stop_following(void) {
    const char *preload = getenv("LD_PRELOAD");
    if (!preload) return;
    char kept[4096];
    size_t n = 0;
    for (const char *p = preload; *p;) {
        size_t len = strcspn(p, ": ");
        bool ours = len >= 12 && memmem(p, len, "libswheap", 9) != NULL;
        if (!ours && len && n + len + 2 < sizeof kept) {
            if (n) kept[n++] = ':';
            memcpy(kept + n, p, len);
            n += len;
        }
        p += len;
        while (*p == ':' || *p == ' ') p++;
    }
    kept[n] = 0;
    if (n) setenv("LD_PRELOAD", kept, 1);
    else unsetenv("LD_PRELOAD");
}
