/* One epoch's dump: snapshot the live table, scan it (at exit, or live when asked), gather the process's
 * executable, command line and modules, append the stack log's chunk (imagelog.c), then
 * encode the epoch file (encode.c) with the memory picture (memory.c), put it in place (dumpfile.c) and thin the directory
 * (retention.c). The chunk goes first: an epoch file in place always names a whole log.
 * Everything is assembled in mmap'd memory; no lock of the allocator path is held while
 * the modules are listed or memory is scanned. */
#define _GNU_SOURCE
#include "sw_census.h"
#include "sw_dump.h"
#include "sw_dumpfile.h"
#include "sw_encode.h"
#include "sw_imagelog.h"
#include "sw_memory.h"
#include "sw_modules.h"
#include "sw_os.h"
#include "sw_retention.h"
#include "sw_scan_exit.h"
#include "sw_scan_paths.h"
#include "sw_state.h"
#include "swheap_format.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

/* Copies a small /proc file with raw reads: no stdio, no malloc. */
static void read_proc_file(sw_buffer *out, const char *path) {
    char chunk[4096];
    int fd = sw_os_open(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return;
    ssize_t got;
    while ((got = read(fd, chunk, sizeof chunk)) > 0) sw_buf_put(out, chunk, (size_t)got);
    close(fd);
}

/* The SCAN body of the latest scan that found verdicts, written into every dump from then on
 * (only the writer and the final dump touch it, under the dump lock). */
static sw_buffer carried_scan;

void sw_dump_reset(void) {
    sw_buf_free(&carried_scan); /* a fresh image: the scan was another's */
    uint32_t first = sw_dumpfile_first_free_epoch();
    sw_state_set_epoch(first);
    sw_imagelog_reset(first);
    sw_retention_reset(first);
}

void sw_dump_moved(void) {
    uint32_t epoch = sw_state_epoch(), free = sw_dumpfile_first_free_epoch();
    if (free > epoch) sw_state_set_epoch(epoch = free); /* never overwrite an earlier image's files */
    sw_imagelog_reset(epoch);
    sw_retention_reset(epoch);
}

/* The sampled estimate of the live heap: what the COHORTS records add up to. */
static double sampled_live_bytes(const sw_snapshot_entry *entries, size_t n) {
    double bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += sw_sample_weight(entries[i].size, sw.config.rate).bytes;
    return bytes;
}

bool sw_dump_write(bool final, bool ask_allocator, uint32_t live_scan, sw_format_scan *scan_out) {
    uint32_t epoch = sw_state_epoch();
    uint64_t wall = sw_now_ns(CLOCK_REALTIME), mono = sw_now_ns(CLOCK_MONOTONIC);

    /* Snapshot first, one stripe locked at a time, then let new allocations belong to
     * the next epoch: every live bucket's birth epoch is at most this dump's epoch. */
    sw_buffer snapshot = {0};
    sw_state_snapshot_live(&snapshot);
    if (!final) sw_state_set_epoch(epoch + 1);
    sw_state_clear_sampled_bytes();
    size_t n = snapshot.len / sizeof(sw_snapshot_entry);
    sw_snapshot_entry *entries = (sw_snapshot_entry *)snapshot.data;

    /* The memory picture at the same moment, before the exit scan stops any thread (one
     * stopped inside malloc would hold the lock mallinfo2 waits for). */
    sw_format_memory memory;
    sw_memory_take(&memory, ask_allocator, sampled_live_bytes(entries, n));

    bool *unreferenced = NULL;
    size_t unref_bytes = n ? (n + 4095) & ~(size_t)4095 : 0;
    bool live = !final && live_scan;
    bool scanned = (final || live) && sw.config.scan && !snapshot.failed;
    sw_format_scan scan = {.wall_ns = sw_now_ns(CLOCK_REALTIME), .flags = live ? (live_scan | SW_SCAN_LIVE) : 0};
    bool tried = scanned;
    /* With no sampled object live there is nothing to find unreferenced: no fallback. */
    sw_scan_mode mode = n ? SW_SCAN_CONSERVATIVE : SW_SCAN_REACHABILITY;
    uint32_t fallback = SW_FALLBACK_NONE;
    sw_scan_paths paths = {0}; /* holders and components; without them, the verdicts stand */
    if (scanned && n) {
        sw_scan_timing timing = {0};
        unreferenced = sw_os_map(unref_bytes, false);
        sw_scan_paths_init(&paths, entries, n, live);
        if (!unreferenced) fallback = SW_FALLBACK_MEMORY;
        else mode = sw_scan_mark_unreferenced(entries, n, unreferenced, sw.config.scan_max_bytes, &paths, live, &timing,
                                              &fallback);
        if (!unreferenced || mode == SW_SCAN_SKIPPED) scanned = false;
        scan.pause_ns = timing.pause_ns, scan.duration_ns = timing.duration_ns;
        uint64_t cpu_us = timing.cpu_ns / 1000;
        scan.cpu_us = cpu_us < UINT32_MAX ? (uint32_t)cpu_us : UINT32_MAX;
    }
    if (scanned) scan.flags |= SW_SCAN_DONE;
    else scan.fallback = fallback;
    scan.epoch = epoch;
    sw_buffer failed_scan = {0};
    if (scanned) {
        sw_buf_free(&carried_scan);
        sw_scan_found found = {.holder = paths.holder, .component = paths.component, .ids = (size_t)paths.max_id + 1,
                               .step = paths.step, .nsteps = paths.nsteps ? (size_t)*paths.nsteps : 0};
        sw_encode_scan(&carried_scan, &scan, sw.config.rate, entries, n, n ? unreferenced : NULL, paths.base ? &found : NULL);
    } else if (tried && !carried_scan.len) {
        sw_encode_scan(&failed_scan, &scan, sw.config.rate, entries, n, NULL, NULL);
    }
    const sw_buffer *scan_body = carried_scan.len && !carried_scan.failed ? &carried_scan
                                 : failed_scan.len && !failed_scan.failed ? &failed_scan : NULL;

    char exe[4096];
    ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof exe);
    sw_buffer cmdline = {0}, modules = {0}, threads = {0};
    read_proc_file(&cmdline, "/proc/self/cmdline");
    sw_census_write(&threads, sw_state_own_threads());
    sw_modules_write(&modules);

    bool truncated = sw_state_truncated() || snapshot.failed;
    uint32_t pid = (uint32_t)getpid();
    uint64_t log_length = 0;
    const char *log_name = NULL;
    size_t log_name_len = 0;
    uint32_t log_first = 0;
    bool ok = !cmdline.failed && !modules.failed && !threads.failed &&
              sw_imagelog_append(epoch, modules.data, modules.len, sw_retention_rotate_at(), &log_length, &log_name,
                                 &log_name_len, &log_first);
    sw_dump_meta meta = {
        .flags = (final ? SW_FLAG_FINAL : 0) | (scanned ? SW_FLAG_SCANNED : 0) |
                 (scanned && mode == SW_SCAN_REACHABILITY ? SW_FLAG_REACHABILITY : 0) | (truncated ? SW_FLAG_TRUNCATED : 0),
        .scan_fallback = !live && ((scanned && mode == SW_SCAN_CONSERVATIVE) || mode == SW_SCAN_SKIPPED) ? fallback : SW_FALLBACK_NONE,
        .pid = pid,
        .parent_pid = (uint32_t)getppid(),
        .epoch = epoch,
        .wall_ns = wall,
        .monotonic_ns = mono,
        .start_ns = sw.start_ns,
        .rate = sw.config.rate,
        .max_depth = sw.config.depth,
        .exe = exe,
        .exe_len = exe_len > 0 ? (size_t)exe_len : 0,
        .cmdline = cmdline.data,
        .cmdline_len = cmdline.len,
        .log_length = log_length,
        .log_name = log_name,
        .log_name_len = log_name_len,
        .threads = threads.data,
        .threads_len = threads.len,
        .memory = &memory,
        .deflate = true,
        .attach = sw.attached ? &sw.attach : NULL,
        .scan = scan_body ? scan_body->data : NULL,
        .scan_len = scan_body ? scan_body->len : 0,
    };
    sw_buffer out = {0};
    ok = ok && sw_encode_dump(&out, &meta, entries, n, scanned ? unreferenced : NULL) &&
         sw_dumpfile_write(out.data, out.len, pid, epoch);
    if (ok) sw_retention_apply(epoch, out.len, log_first, log_length); /* only once the new epoch is in place */
    if (scan_out) *scan_out = tried ? scan : (sw_format_scan){0};
    sw_buf_free(&out);
    sw_buf_free(&modules);
    sw_buf_free(&cmdline);
    sw_buf_free(&threads);
    sw_buf_free(&failed_scan);
    sw_buf_free(&snapshot);
    if (unreferenced) sw_os_unmap(unreferenced, unref_bytes);
    sw_scan_paths_free(&paths);
    return ok;
}
