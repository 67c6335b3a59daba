/* Retention: SWHEAP_KEEP and the disk budget SWHEAP_MAX_BYTES. After each dump, delete this
 * image's epoch files that sw_retention_keeps (the policy shared with the reader,
 * swheap_format.h) no longer keeps, and the stack logs no kept epoch file names. Epochs count
 * from the image's first, so each image keeps its own first epoch.
 *
 * The budget: the image's epoch files and logs together stay under max_bytes. When they do
 * not, the policy's `recent` is halved (and stays halved): a smaller `recent` keeps a subset
 * of the epochs, so the files on disk are always exactly what the policy keeps with the
 * current `recent`, and an epoch dropped stays dropped. The log is bounded by rotation
 * (imagelog.c starts a new one past sw_retention_rotate_at bytes of growth) and by deleting
 * the logs whose epochs are all thinned away. Used only under the dumper's lock. */
#define _GNU_SOURCE
#include "sw_dumpfile.h"
#include "sw_os.h"
#include "sw_retention.h"
#include "sw_state.h"
#include "swheap_format.h"

#include <stdio.h>
#include <unistd.h>

extern char *program_invocation_short_name;

enum { MAX_LOGS = 128 };

static struct {
    uint32_t first;    /* the image's first epoch */
    uint32_t thinned;  /* the newest epoch the policy was last applied for, 0 = none */
    uint64_t recent;   /* the policy's `recent` now (SWHEAP_KEEP's, halved by the budget) */
    uint64_t epoch_bytes; /* the epoch files of this image on disk */
    /* This image's logs on disk, oldest first; the last is the one being written. A log holds
     * the chunks of epochs logs[i].first .. logs[i + 1].first - 1. */
    struct {
        uint32_t first;
        uint64_t bytes;
    } logs[MAX_LOGS];
    uint32_t log_count;
} r;

static bool keeps_all(void) { return !sw.config.keep || !sw.config.max_bytes; }

void sw_retention_reset(uint32_t first_epoch) {
    r.first = first_epoch;
    r.thinned = 0;
    r.recent = sw_retention_recent(sw.config.keep);
    r.epoch_bytes = 0;
    r.log_count = 0;
}

uint64_t sw_retention_recent(uint64_t keep) { return keep / 16 > 2 ? keep / 16 : 2; }

uint64_t sw_retention_rotate_at(void) {
    if (keeps_all() || r.log_count + 1 >= MAX_LOGS) return 0;
    uint64_t share = sw.config.max_bytes / SW_LOG_ROTATE_SHARE;
    return share > 4096 ? share : 4096;
}

static uint64_t on_disk(void) {
    uint64_t total = r.epoch_bytes;
    for (uint32_t i = 0; i < r.log_count; i++) total += r.logs[i].bytes;
    return total;
}

/* Deletes the epoch files kept for (before, was) that (now, recent) does not keep. Epochs are
 * relative (1 = the image's first). */
static void thin(uint64_t before, uint64_t was, uint64_t now, uint64_t recent) {
    uint32_t pid = (uint32_t)getpid();
    for (uint64_t e = sw_retention_next_kept(0, before, was); e <= before && e < now;
         e = sw_retention_next_kept(e, before, was))
        if (!sw_retention_keeps(e, now, recent)) {
            uint64_t freed = sw_dumpfile_remove(pid, (uint32_t)(e + r.first - 1));
            r.epoch_bytes -= freed < r.epoch_bytes ? freed : r.epoch_bytes;
        }
}

/* Deletes the logs (never the one being written) that hold no epoch the policy keeps. */
static void drop_logs(uint64_t now) {
    uint32_t pid = (uint32_t)getpid(), kept = 0;
    for (uint32_t i = 0; i < r.log_count; i++) {
        bool current = i + 1 == r.log_count;
        uint64_t lo = r.logs[i].first - r.first + 1, hi = current ? now : r.logs[i + 1].first - r.first;
        if (!current && sw_retention_next_kept(lo - 1, now, r.recent) > hi) {
            sw_dumpfile_remove_log(pid, r.logs[i].first);
            continue;
        }
        r.logs[kept++] = r.logs[i];
    }
    r.log_count = kept;
}

static void say_budget(bool exceeded) {
    char detail[400];
    snprintf(detail, sizeof detail, "pid %d (%.200s), SWHEAP_MAX_BYTES=%llu", (int)getpid(),
             program_invocation_short_name ? program_invocation_short_name : "?",
             (unsigned long long)sw.config.max_bytes);
    if (exceeded)
        sw_warn(SW_WARN_BUDGET_EXCEEDED, "the dump files exceed the disk budget even thinned to the least", detail,
                "the newest epochs and the stack log are kept anyway; raise SWHEAP_MAX_BYTES (swheap run --max-bytes)");
    else
        sw_warn(SW_WARN_BUDGET, "the dump files reached the disk budget", detail,
                "older epochs are thinned harder than SWHEAP_KEEP asks; raise SWHEAP_MAX_BYTES (swheap run "
                "--max-bytes) for denser history, or set it to 0 to keep everything");
}

void sw_retention_apply(uint32_t newest, uint64_t file_bytes, uint32_t log_first, uint64_t log_bytes) {
    if (keeps_all() || newest < r.first) return;
    r.epoch_bytes += file_bytes;
    if (r.log_count && r.logs[r.log_count - 1].first == log_first) r.logs[r.log_count - 1].bytes = log_bytes;
    else if (r.log_count < MAX_LOGS) r.logs[r.log_count++].first = log_first, r.logs[r.log_count - 1].bytes = log_bytes;
    uint64_t now = newest - r.first + 1, before = r.thinned >= r.first ? r.thinned - r.first + 1 : 0;
    /* A file goes when it was kept at the last thinning and is not now: the policy never keeps
     * again what it dropped, so nothing else can be on disk. */
    if (before) thin(before, r.recent, now, r.recent);
    r.thinned = newest;
    while (on_disk() > sw.config.max_bytes && r.recent > 1) {
        uint64_t was = r.recent;
        r.recent /= 2;
        thin(now, was, now, r.recent);
        drop_logs(now);
        say_budget(false);
    }
    drop_logs(now);
    if (on_disk() > sw.config.max_bytes) say_budget(true);
}

uint64_t sw_retention_bytes(void) { return on_disk(); }
uint64_t sw_retention_recent_now(void) { return r.recent; }
