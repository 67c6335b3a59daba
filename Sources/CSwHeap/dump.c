/* One epoch's dump: header, executable, command line, modules, stacks, live buckets.
 * Assembled in mmap'd memory, written to a temporary file and renamed into place. */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { TAG_EXE = 1, TAG_CMDLINE = 2, TAG_MODULES = 3, TAG_STACKS = 4, TAG_LIVE = 5, TAG_END = 0xFFFFFFFFu };
enum { FLAG_FINAL = 1, FLAG_SCANNED = 2, FLAG_TRUNCATED = 4 };

/* Live sampled allocations summed per (stack, birth epoch). */
typedef struct {
    uint32_t stack_id, birth_epoch;
    double live_objects, live_bytes, unref_objects, unref_bytes;
} bucket;

typedef struct {
    bucket *slots;
    size_t capacity; /* power of two */
} bucket_map;

static bucket *bucket_for(bucket_map *m, uint32_t stack_id, uint32_t birth) {
    uint64_t h = ((uint64_t)stack_id << 32 | birth) * 0x9E3779B97F4A7C15ull;
    for (size_t i = (h >> 20) & (m->capacity - 1);; i = (i + 1) & (m->capacity - 1)) {
        bucket *b = &m->slots[i];
        if (b->stack_id == stack_id && b->birth_epoch == birth) return b;
        if (b->stack_id == 0) {
            b->stack_id = stack_id, b->birth_epoch = birth;
            return b;
        }
    }
}

static bool copy_entry(const sw_live_entry *e, void *ctx) {
    sw_snapshot_entry s = {e->ptr, e->size, e->stack_id, e->birth_epoch};
    sw_buf_put(ctx, &s, sizeof s);
    return !((sw_buffer *)ctx)->failed;
}

static void write_live(sw_buffer *out, sw_snapshot_entry *entries, size_t n, const bool *unreferenced) {
    bucket_map map = {0};
    map.capacity = 64;
    while (map.capacity < 2 * n + 2) map.capacity *= 2;
    map.slots = sw_os_map(map.capacity * sizeof(bucket), false);
    if (!map.slots) {
        out->failed = true;
        return;
    }
    uint32_t used = 0;
    for (size_t i = 0; i < n; i++) {
        sw_weight w = sw_sample_weight(entries[i].size, sw.config.rate);
        bucket *b = bucket_for(&map, entries[i].stack_id, entries[i].birth_epoch);
        used += b->live_objects == 0;
        b->live_objects += w.objects, b->live_bytes += w.bytes;
        if (unreferenced && unreferenced[i]) b->unref_objects += w.objects, b->unref_bytes += w.bytes;
    }
    sw_buf_u32(out, used);
    for (size_t i = 0; i < map.capacity; i++) {
        const bucket *b = &map.slots[i];
        if (!b->stack_id) continue;
        sw_buf_u32(out, b->stack_id);
        sw_buf_u32(out, b->birth_epoch);
        sw_buf_f64(out, b->live_objects);
        sw_buf_f64(out, b->live_bytes);
        sw_buf_f64(out, b->unref_objects);
        sw_buf_f64(out, b->unref_bytes);
    }
    sw_os_unmap(map.slots, map.capacity * sizeof(bucket));
}

static void write_stacks(sw_buffer *out) {
    uint32_t n = sw_stacks_count(sw.stacks), written = 0;
    size_t count_at = out->len;
    sw_buf_u32(out, 0); /* patched below */
    for (uint32_t id = 1; id <= n; id++) {
        const sw_stack *s = sw_stacks_get(sw.stacks, id);
        double objects = sw_stacks_alloc_objects(s);
        if (id == SW_STACK_UNKNOWN && objects == 0) continue; /* the reserved stack, unused */
        sw_buf_u32(out, id);
        sw_buf_u32(out, s->depth);
        sw_buf_f64(out, objects);
        sw_buf_f64(out, sw_stacks_alloc_bytes(s));
        sw_buf_put(out, s->pcs, s->depth * sizeof(uintptr_t));
        written++;
    }
    if (!out->failed) memcpy(out->data + count_at, &written, sizeof written);
}

/* Copies a small /proc file with raw reads: no stdio, no malloc. */
static void write_proc_file(sw_buffer *out, const char *path) {
    char chunk[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t got;
    while ((got = read(fd, chunk, sizeof chunk)) > 0) sw_buf_put(out, chunk, (size_t)got);
    close(fd);
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

static bool write_file(const char *bytes, size_t len, uint32_t pid, uint32_t epoch) {
    char final_name[4200], temp_name[4200];
    char *at = append(final_name, sw.config.dir);
    at = append(at, "/");
    at = append_number(at, pid, 1);
    at = append(at, ".");
    at = append_number(at, epoch, 6);
    *append(at, ".swheap") = 0;
    at = append(temp_name, sw.config.dir);
    at = append(at, "/.");
    at = append_number(at, pid, 1);
    at = append(at, ".");
    at = append_number(at, epoch, 6);
    *append(at, ".tmp") = 0;

    int fd = open(temp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) { /* left by an earlier process with our pid */
        unlink(temp_name);
        fd = open(temp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    }
    if (fd < 0) return false;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, bytes + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += (size_t)n;
    }
    bool ok = done == len && close(fd) == 0;
    if (!ok || rename(temp_name, final_name) != 0) {
        unlink(temp_name);
        return false;
    }
    return true;
}

uint64_t sw_now_ns(int clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool sw_dump_write(bool final) {
    uint32_t epoch = atomic_load(&sw.epoch);
    uint64_t wall = sw_now_ns(CLOCK_REALTIME), mono = sw_now_ns(CLOCK_MONOTONIC);

    /* Snapshot first, one stripe locked at a time, then let new allocations belong to
     * the next epoch: every live bucket's birth epoch is at most this dump's epoch. */
    sw_buffer snapshot = {0};
    sw_live_foreach(&sw_live_storage, copy_entry, &snapshot);
    if (!final) atomic_store(&sw.epoch, epoch + 1);
    __atomic_store_n(&sw.sampled_bytes, 0, __ATOMIC_RELAXED);
    size_t n = snapshot.len / sizeof(sw_snapshot_entry);
    sw_snapshot_entry *entries = (sw_snapshot_entry *)snapshot.data;

    bool *unreferenced = NULL;
    size_t unref_bytes = n ? (n + 4095) & ~(size_t)4095 : 0;
    bool scanned = final && sw.config.scan && !snapshot.failed;
    if (scanned && n) {
        unreferenced = sw_os_map(unref_bytes, false);
        if (unreferenced) sw_scan_mark_unreferenced(entries, n, unreferenced);
        else scanned = false;
    }

    sw_buffer out = {0};
    uint32_t flags = (final ? FLAG_FINAL : 0) | (scanned ? FLAG_SCANNED : 0) |
                     (atomic_load(&sw.truncated) || snapshot.failed || atomic_load(&sw.stacks->full) ? FLAG_TRUNCATED : 0);
    sw_buf_put(&out, "SWHEAPD1", 8);
    sw_buf_u32(&out, 1);
    sw_buf_u32(&out, flags);
    sw_buf_u32(&out, (uint32_t)getpid());
    sw_buf_u32(&out, (uint32_t)getppid());
    sw_buf_u64(&out, epoch);
    sw_buf_u64(&out, wall);
    sw_buf_u64(&out, mono);
    sw_buf_u64(&out, sw.start_ns);
    sw_buf_u64(&out, sw.config.rate);
    sw_buf_u32(&out, sw.config.depth);
    sw_buf_u32(&out, 0);

    char exe[4096];
    ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof exe);
    size_t at = sw_buf_begin_section(&out, TAG_EXE);
    sw_buf_str(&out, exe, exe_len > 0 ? (size_t)exe_len : 0);
    sw_buf_end_section(&out, at);

    at = sw_buf_begin_section(&out, TAG_CMDLINE);
    write_proc_file(&out, "/proc/self/cmdline");
    sw_buf_end_section(&out, at);

    at = sw_buf_begin_section(&out, TAG_MODULES);
    sw_modules_write(&out);
    sw_buf_end_section(&out, at);

    at = sw_buf_begin_section(&out, TAG_STACKS);
    write_stacks(&out);
    sw_buf_end_section(&out, at);

    at = sw_buf_begin_section(&out, TAG_LIVE);
    write_live(&out, entries, n, scanned ? unreferenced : NULL);
    sw_buf_end_section(&out, at);

    at = sw_buf_begin_section(&out, TAG_END);
    sw_buf_end_section(&out, at);

    bool ok = !out.failed && write_file(out.data, out.len, (uint32_t)getpid(), epoch);
    sw_buf_free(&out);
    sw_buf_free(&snapshot);
    if (unreferenced) sw_os_unmap(unreferenced, unref_bytes);
    return ok;
}
