/* One v2 epoch file's bytes from a snapshot: the layout of swheap_format.h, written through
 * its structs. Pure (no clock, no files, no globals) so the unit tests can check every byte. */
#include "sw_deflate.h"
#include "sw_encode.h"
#include "sw_os.h"
#include "swheap_format.h"

#include <string.h>

/* Live entries summed per (stack, birth cohort): an open-addressing map whose slots are the
 * COHORTS records themselves. Stack id 0 (never a real id) marks an empty slot. */
typedef struct {
    sw_format_cohort *slots;
    size_t capacity; /* power of two, more than twice the entries */
} cohort_map;

static sw_format_cohort *cohort_for(cohort_map *m, uint32_t stack_id, uint32_t first, uint32_t last) {
    uint64_t h = ((uint64_t)stack_id << 32 | first) * 0x9E3779B97F4A7C15ull;
    for (size_t i = (h >> 20) & (m->capacity - 1);; i = (i + 1) & (m->capacity - 1)) {
        sw_format_cohort *c = &m->slots[i];
        if (c->stack_id == stack_id && c->birth_first == first) return c;
        if (c->stack_id == 0) {
            c->stack_id = stack_id, c->birth_first = first, c->birth_last = last;
            return c;
        }
    }
}

static bool before(const sw_format_cohort *a, const sw_format_cohort *b) {
    return a->stack_id != b->stack_id ? a->stack_id < b->stack_id : a->birth_first < b->birth_first;
}

/* Heap sort in place: deterministic output that deflates better, without qsort (which may
 * call malloc). */
static void sift_down(sw_format_cohort *a, size_t root, size_t n) {
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && before(&a[child], &a[child + 1])) child++;
        if (!before(&a[root], &a[child])) return;
        sw_format_cohort t = a[root];
        a[root] = a[child], a[child] = t;
    }
}

static void sort_cohorts(sw_format_cohort *a, size_t n) {
    for (size_t i = n / 2; i-- > 0;) sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        sw_format_cohort t = a[0];
        a[0] = a[end], a[end] = t;
        sift_down(a, 0, end);
    }
}

/* COHORTS body: u32 count, then the cohorts sorted by stack id and first birth epoch; with
 * `per_stack`, one record per stack (birth 0), as SCAN holds them. */
static void write_cohorts(sw_buffer *out, uint64_t rate, uint32_t epoch, const sw_snapshot_entry *entries, size_t n,
                          const bool *unreferenced, bool per_stack) {
    cohort_map map = {.capacity = 64};
    while (map.capacity < 2 * n + 2) map.capacity *= 2;
    size_t bytes = map.capacity * sizeof(sw_format_cohort);
    map.slots = sw_os_map(bytes, false);
    if (!map.slots) {
        out->failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sw_weight w = sw_sample_weight(entries[i].size, rate);
        uint32_t first = 0, last = 0;
        if (!per_stack) sw_cohort_of(entries[i].birth_epoch, epoch, &first, &last);
        sw_format_cohort *c = cohort_for(&map, entries[i].stack_id, first, last);
        c->live_objects += w.objects, c->live_bytes += w.bytes;
        if (unreferenced && unreferenced[i]) c->unref_objects += w.objects, c->unref_bytes += w.bytes;
    }
    size_t used = 0; /* compact the map into its first slots, then sort those */
    for (size_t i = 0; i < map.capacity; i++)
        if (map.slots[i].stack_id) map.slots[used++] = map.slots[i];
    sort_cohorts(map.slots, used);
    sw_buf_u32(out, (uint32_t)used);
    sw_buf_put(out, map.slots, used * sizeof(sw_format_cohort));
    sw_os_unmap(map.slots, bytes);
}

static void write_section(sw_buffer *out, uint32_t tag, const void *body, size_t len) {
    size_t at = sw_buf_begin_section(out, tag);
    if (len) sw_buf_put(out, body, len);
    sw_buf_end_section(out, at);
}

/* The sections after the header, plain. */
static void write_sections(sw_buffer *out, const sw_dump_meta *m, const sw_snapshot_entry *entries, size_t n,
                           const bool *unreferenced) {
    size_t at = sw_buf_begin_section(out, SW_TAG_EXE);
    sw_buf_str(out, m->exe, m->exe_len);
    sw_buf_end_section(out, at);

    write_section(out, SW_TAG_CMDLINE, m->cmdline, m->cmdline_len);

    at = sw_buf_begin_section(out, SW_TAG_LOG);
    sw_buf_u64(out, m->log_length);
    sw_buf_str(out, m->log_name, m->log_name_len);
    sw_buf_end_section(out, at);

    if (m->attach) write_section(out, SW_TAG_ATTACH, m->attach, sizeof *m->attach);

    at = sw_buf_begin_section(out, SW_TAG_COHORTS);
    write_cohorts(out, m->rate, (uint32_t)m->epoch, entries, n, unreferenced, false);
    sw_buf_end_section(out, at);

    if (m->threads) write_section(out, SW_TAG_THREADS, m->threads, m->threads_len);
    if (m->memory) write_section(out, SW_TAG_MEMORY, m->memory, sizeof *m->memory);
    if (m->scan) write_section(out, SW_TAG_SCAN, m->scan, m->scan_len);

    write_section(out, SW_TAG_END, NULL, 0);
}

/* u32 count, then those of `count` records whose first field, the stack id, is set. */
static void write_by_id(sw_buffer *out, const void *records, size_t count, size_t size) {
    const char *at = records;
    uint32_t used = 0;
    for (size_t i = 0; i < count; i++) used += *(const uint32_t *)(at + i * size) != 0;
    sw_buf_u32(out, used);
    for (size_t i = 0; i < count; i++)
        if (*(const uint32_t *)(at + i * size)) sw_buf_put(out, at + i * size, size);
}

bool sw_encode_scan(sw_buffer *out, const sw_format_scan *scan, uint64_t rate, const sw_snapshot_entry *entries, size_t n,
                    const bool *unreferenced, const sw_scan_found *found) {
    sw_buf_put(out, scan, sizeof *scan);
    if (unreferenced) write_cohorts(out, rate, 0, entries, n, unreferenced, true);
    else sw_buf_u32(out, 0);
    if (!unreferenced || !found || !found->holder) {
        for (int i = 0; i < 3; i++) sw_buf_u32(out, 0); /* holders, steps, components */
        return !out->failed;
    }
    write_by_id(out, found->holder, found->ids, sizeof *found->holder);
    sw_buf_u32(out, (uint32_t)found->nsteps);
    sw_buf_put(out, found->step, found->nsteps * sizeof *found->step);
    write_by_id(out, found->component, found->ids * SW_STACK_COMPONENTS, sizeof *found->component);
    return !out->failed;
}

bool sw_encode_dump(sw_buffer *out, const sw_dump_meta *m, const sw_snapshot_entry *entries, size_t n,
                    const bool *unreferenced) {
    sw_format_header header = {
        .version = SW_FORMAT_VERSION,
        .flags = m->flags & ~SW_FLAG_DEFLATED,
        .pid = m->pid,
        .parent_pid = m->parent_pid,
        .epoch = m->epoch,
        .wall_ns = m->wall_ns,
        .monotonic_ns = m->monotonic_ns,
        .start_ns = m->start_ns,
        .rate = m->rate,
        .max_depth = m->max_depth,
        .scan_fallback = m->scan_fallback,
    };
    memcpy(header.magic, SW_FORMAT_MAGIC, SW_FORMAT_MAGIC_SIZE);
    size_t header_at = out->len;
    sw_buf_put(out, &header, sizeof header);
    if (!m->deflate) {
        write_sections(out, m, entries, n, unreferenced);
        return !out->failed;
    }
    sw_buffer plain = {0};
    write_sections(&plain, m, entries, n, unreferenced);
    bool ok = !plain.failed;
    if (ok && sw_deflate(out, plain.data, plain.len)) {
        header.flags |= SW_FLAG_DEFLATED;
        memcpy(out->data + header_at, &header, sizeof header);
    } else if (ok) {
        sw_buf_put(out, plain.data, plain.len); /* zlib failed: plain rather than lost */
    }
    sw_buf_free(&plain);
    return ok && !out->failed;
}
