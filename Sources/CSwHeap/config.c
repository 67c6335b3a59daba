/* Settings from the environment, read once at start-up (getenv is safe there). */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char *program_invocation_short_name;

static uint64_t number(const char *name, uint64_t fallback) {
    const char *v = getenv(name);
    if (!v || !*v) return fallback;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end) {
        sw_warn(SW_WARN_SETTING, "ignoring a malformed setting", name, "using its default");
        return fallback;
    }
    return n;
}

static uint64_t seconds_ns(const char *name, double fallback) {
    const char *v = getenv(name);
    double s = fallback;
    if (v && *v) {
        char *end;
        double parsed = strtod(v, &end);
        if (*end || parsed < 0 || parsed != parsed) sw_warn(SW_WARN_SETTING, "ignoring a malformed setting", name, "using its default");
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
    c->rate = number("SWHEAP_RATE", 524288);
    uint64_t depth = number("SWHEAP_DEPTH", 64);
    c->depth = (uint32_t)(depth < 1 ? 1 : depth > SW_MAX_DEPTH ? SW_MAX_DEPTH : depth);
    c->interval_ns = seconds_ns("SWHEAP_INTERVAL", 10);
    c->dump_bytes = number("SWHEAP_DUMP_BYTES", 0);
    c->signal = (int)number("SWHEAP_SIGNAL", 0);
    c->follow = flag("SWHEAP_FOLLOW", true);
    c->scan = flag("SWHEAP_SCAN", true);
    const char *unwind = getenv("SWHEAP_UNWIND");
    c->frame_pointers = unwind && strcmp(unwind, "fp") == 0;

    const char *dir = getenv("SWHEAP_DIR");
    char *at = c->dir;
    char *end = c->dir + sizeof c->dir - 64;
    if (!dir || !*dir) {
        /* Default: ./swheap.<program>.<pid>, made absolute and exported so children that
         * chdir or exec keep writing next to their parent. */
        if (!getcwd(c->dir, sizeof c->dir - 300)) strcpy(c->dir, ".");
        at = c->dir + strlen(c->dir);
        const char *name = program_invocation_short_name ? program_invocation_short_name : "program";
        at += snprintf(at, (size_t)(end - at), "/swheap.%.200s.%d", name, (int)getpid());
        setenv("SWHEAP_DIR", c->dir, 1);
    } else if (dir[0] != '/' && getcwd(c->dir, sizeof c->dir - 300)) {
        at = c->dir + strlen(c->dir);
        snprintf(at, (size_t)(end - at), "/%s", dir);
        setenv("SWHEAP_DIR", c->dir, 1);
    } else {
        snprintf(c->dir, sizeof c->dir, "%s", dir);
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
