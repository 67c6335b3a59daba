/* One dump's bytes from a snapshot: the layout of swheap_format.h, written through its
 * structs. Pure (no clock, no files, no globals) so the unit tests can check every byte. */
#include "sw_encode.h"
#include "sw_os.h"
#include "swheap_format.h"

#include <string.h>

/* Live entries summed per (stack, birth epoch): an open-addressing map whose slots are the
 * LIVE records themselves. Stack id 0 (never a real id) marks an empty slot. */
typedef struct {
    sw_format_live *slots;
    size_t capacity; /* power of two, more than twice the entries */
} bucket_map;

static sw_format_live *bucket_for(bucket_map *m, uint32_t stack_id, uint32_t birth) {
    uint64_t h = ((uint64_t)stack_id << 32 | birth) * 0x9E3779B97F4A7C15ull;
    for (size_t i = (h >> 20) & (m->capacity - 1);; i = (i + 1) & (m->capacity - 1)) {
        sw_format_live *b = &m->slots[i];
        if (b->stack_id == stack_id && b->birth_epoch == birth) return b;
        if (b->stack_id == 0) {
            b->stack_id = stack_id, b->birth_epoch = birth;
            return b;
        }
    }
}

/* LIVE body: u32 count, then the buckets in map order. */
static void write_live(sw_buffer *out, uint64_t rate, const sw_snapshot_entry *entries, size_t n,
                       const bool *unreferenced) {
    bucket_map map = {.capacity = 64};
    while (map.capacity < 2 * n + 2) map.capacity *= 2;
    map.slots = sw_os_map(map.capacity * sizeof(sw_format_live), false);
    if (!map.slots) {
        out->failed = true;
        return;
    }
    uint32_t used = 0;
    for (size_t i = 0; i < n; i++) {
        sw_weight w = sw_sample_weight(entries[i].size, rate);
        sw_format_live *b = bucket_for(&map, entries[i].stack_id, entries[i].birth_epoch);
        used += b->live_objects == 0;
        b->live_objects += w.objects, b->live_bytes += w.bytes;
        if (unreferenced && unreferenced[i]) b->unref_objects += w.objects, b->unref_bytes += w.bytes;
    }
    sw_buf_u32(out, used);
    for (size_t i = 0; i < map.capacity; i++)
        if (map.slots[i].stack_id) sw_buf_put(out, &map.slots[i], sizeof map.slots[i]);
    sw_os_unmap(map.slots, map.capacity * sizeof(sw_format_live));
}

/* STACKS body: u32 count, then per stack its record and return addresses. */
static void write_stacks(sw_buffer *out, const sw_stack_table *stacks) {
    uint32_t n = sw_stacks_count(stacks), written = 0;
    size_t count_at = out->len;
    sw_buf_u32(out, 0); /* patched below */
    for (uint32_t id = 1; id <= n; id++) {
        const sw_stack *s = sw_stacks_get(stacks, id);
        double objects = sw_stacks_alloc_objects(s);
        if (id == SW_STACK_UNKNOWN && objects == 0) continue; /* the reserved stack, unused */
        sw_format_stack record = {.stack_id = id, .depth = s->depth, .alloc_objects = objects,
                                  .alloc_bytes = sw_stacks_alloc_bytes(s)};
        sw_buf_put(out, &record, sizeof record);
        sw_buf_put(out, s->pcs, s->depth * sizeof(uintptr_t));
        written++;
    }
    if (!out->failed) memcpy(out->data + count_at, &written, sizeof written);
}

static void write_section(sw_buffer *out, uint32_t tag, const void *body, size_t len) {
    size_t at = sw_buf_begin_section(out, tag);
    if (len) sw_buf_put(out, body, len);
    sw_buf_end_section(out, at);
}

bool sw_encode_dump(sw_buffer *out, const sw_dump_meta *m, const sw_stack_table *stacks,
                    const sw_snapshot_entry *entries, size_t n, const bool *unreferenced) {
    sw_format_header header = {
        .version = SW_FORMAT_VERSION,
        .flags = m->flags,
        .pid = m->pid,
        .parent_pid = m->parent_pid,
        .epoch = m->epoch,
        .wall_ns = m->wall_ns,
        .monotonic_ns = m->monotonic_ns,
        .start_ns = m->start_ns,
        .rate = m->rate,
        .max_depth = m->max_depth,
        .reserved = 0,
    };
    memcpy(header.magic, SW_FORMAT_MAGIC, SW_FORMAT_MAGIC_SIZE);
    sw_buf_put(out, &header, sizeof header);

    size_t at = sw_buf_begin_section(out, SW_TAG_EXE);
    sw_buf_str(out, m->exe, m->exe_len);
    sw_buf_end_section(out, at);

    write_section(out, SW_TAG_CMDLINE, m->cmdline, m->cmdline_len);
    write_section(out, SW_TAG_MODULES, m->modules, m->modules_len);

    at = sw_buf_begin_section(out, SW_TAG_STACKS);
    write_stacks(out, stacks);
    sw_buf_end_section(out, at);

    at = sw_buf_begin_section(out, SW_TAG_LIVE);
    write_live(out, m->rate, entries, n, unreferenced);
    sw_buf_end_section(out, at);

    write_section(out, SW_TAG_END, NULL, 0);
    return !out->failed;
}
