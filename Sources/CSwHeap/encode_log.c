/* One stack-log chunk's body from the stack table, and what writing it changes: each stack,
 * module list and allocation figure goes into the log once, when it is new or changed, and
 * the "already logged" state advances only once the chunk is in the file (stacklog.c).
 * Pure (no clock, no files, no globals) so the unit tests can check every byte. */
#include "sw_encode.h"
#include "swheap_format.h"

#include <string.h>

static uint64_t fnv1a(const char *bytes, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)bytes[i]) * 0x100000001b3ull;
    return h;
}

static void logged_alloc(const sw_log_state *s, uint32_t id, double *objects, double *bytes) {
    bool logged = id == SW_STACK_UNKNOWN ? s->reserved_logged : id <= s->stacks;
    bool known = logged && s->alloc && id <= s->alloc_capacity;
    *objects = known ? s->alloc[2 * (size_t)id] : 0;
    *bytes = known ? s->alloc[2 * (size_t)id + 1] : 0;
}

static void put_stack(sw_buffer *out, const sw_stack *s) {
    sw_format_stack_frames record = {.stack_id = s->id, .depth = s->depth};
    sw_buf_put(out, &record, sizeof record);
    sw_buf_put(out, s->pcs, s->depth * sizeof(uintptr_t));
}

bool sw_encode_log_body(sw_buffer *out, sw_log_pending *p, const sw_log_state *state,
                        const sw_stack_table *stacks, uint32_t count, const char *modules, size_t modules_len) {
    *p = (sw_log_pending){.stacks = count, .modules_hash = fnv1a(modules, modules_len)};

    /* STACKS: u32 count, then per new stack its id, depth and return addresses. The reserved
     * empty stack (it also stands for stacks that did not fit) goes in once something was
     * counted under it, as v1 wrote it only then. */
    size_t at = sw_buf_begin_section(out, SW_TAG_STACKS), count_at = out->len;
    uint32_t written = 0;
    sw_buf_u32(out, 0); /* patched below */
    for (uint32_t id = state->stacks + 1; id <= count; id++) {
        const sw_stack *s = sw_stacks_get(stacks, id);
        if (id == SW_STACK_UNKNOWN) continue; /* below */
        put_stack(out, s);
        written++;
    }
    const sw_stack *reserved = count >= SW_STACK_UNKNOWN ? sw_stacks_get(stacks, SW_STACK_UNKNOWN) : NULL;
    if (reserved && !state->reserved_logged && sw_stacks_alloc_objects(reserved) != 0) {
        put_stack(out, reserved);
        written++;
        p->reserved_written = true;
    }
    if (!out->failed) memcpy(out->data + count_at, &written, sizeof written);
    sw_buf_end_section(out, at);

    if (!state->modules_logged || state->modules_hash != p->modules_hash) {
        at = sw_buf_begin_section(out, SW_TAG_MODULES);
        if (modules_len) sw_buf_put(out, modules, modules_len);
        sw_buf_end_section(out, at);
        p->modules_written = true;
    }

    /* ALLOC: u32 count, then the stacks whose cumulative figures moved. */
    at = sw_buf_begin_section(out, SW_TAG_ALLOC);
    count_at = out->len;
    sw_buf_u32(out, 0);
    p->alloc_at = out->len;
    for (uint32_t id = 1; id <= count; id++) {
        const sw_stack *s = sw_stacks_get(stacks, id);
        double objects = sw_stacks_alloc_objects(s), bytes = sw_stacks_alloc_bytes(s), was_objects, was_bytes;
        logged_alloc(state, id, &was_objects, &was_bytes);
        if (objects == was_objects && bytes == was_bytes) continue;
        sw_format_alloc record = {.stack_id = id, .alloc_objects = objects, .alloc_bytes = bytes};
        sw_buf_put(out, &record, sizeof record);
        p->alloc_count++;
    }
    if (!out->failed) memcpy(out->data + count_at, &p->alloc_count, sizeof p->alloc_count);
    sw_buf_end_section(out, at);

    at = sw_buf_begin_section(out, SW_TAG_END);
    sw_buf_end_section(out, at);
    return !out->failed;
}

void sw_log_commit(sw_log_state *s, const sw_log_pending *p, const char *body, uint64_t new_length) {
    for (uint32_t id = s->stacks + 1; id <= p->stacks && id <= s->alloc_capacity; id++)
        s->alloc[2 * (size_t)id] = s->alloc[2 * (size_t)id + 1] = 0;
    if (p->reserved_written && s->alloc_capacity >= SW_STACK_UNKNOWN)
        s->alloc[2 * SW_STACK_UNKNOWN] = s->alloc[2 * SW_STACK_UNKNOWN + 1] = 0;
    s->stacks = p->stacks;
    for (uint32_t i = 0; i < p->alloc_count; i++) {
        sw_format_alloc r;
        memcpy(&r, body + p->alloc_at + i * sizeof r, sizeof r);
        if (r.stack_id > s->alloc_capacity) continue;
        s->alloc[2 * (size_t)r.stack_id] = r.alloc_objects;
        s->alloc[2 * (size_t)r.stack_id + 1] = r.alloc_bytes;
    }
    if (p->reserved_written) s->reserved_logged = true;
    if (p->modules_written) s->modules_logged = true, s->modules_hash = p->modules_hash;
    s->length = new_length;
}
