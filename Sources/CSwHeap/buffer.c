/* Dumps are assembled in memory from mmap, then written with one write(2) loop. */
#define _GNU_SOURCE
#include "sw_buffer.h"
#include "swheap_format.h"

#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

static bool reserve(sw_buffer *b, size_t extra) {
    if (b->failed) return false;
    if (b->len + extra <= b->capacity) return true;
    size_t capacity = b->capacity ? b->capacity : 1 << 16;
    while (capacity < b->len + extra) capacity *= 2;
    void *grown = b->data ? mremap(b->data, b->capacity, capacity, MREMAP_MAYMOVE)
                          : mmap(NULL, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (grown == MAP_FAILED) {
        b->failed = true;
        return false;
    }
    b->data = grown;
    b->capacity = capacity;
    return true;
}

void sw_buf_put(sw_buffer *b, const void *bytes, size_t n) {
    if (!reserve(b, n)) return;
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
}

void *sw_buf_extend(sw_buffer *b, size_t n) {
    if (!reserve(b, n)) return NULL;
    b->len += n;
    return b->data + b->len - n;
}

/* x86-64 and aarch64 Linux are little-endian, the format's byte order. */
void sw_buf_u32(sw_buffer *b, uint32_t v) { sw_buf_put(b, &v, sizeof v); }
void sw_buf_u64(sw_buffer *b, uint64_t v) { sw_buf_put(b, &v, sizeof v); }
void sw_buf_f64(sw_buffer *b, double v) { sw_buf_put(b, &v, sizeof v); }

void sw_buf_str(sw_buffer *b, const char *s, size_t n) {
    sw_buf_u32(b, (uint32_t)n);
    sw_buf_put(b, s, n);
}

size_t sw_buf_begin_section(sw_buffer *b, uint32_t tag) {
    size_t start = b->len;
    sw_format_section section = {.tag = tag, .reserved = 0, .length = 0};
    sw_buf_put(b, &section, sizeof section);
    return start;
}

void sw_buf_end_section(sw_buffer *b, size_t start) {
    if (b->failed) return;
    uint64_t body = b->len - start - sizeof(sw_format_section);
    memcpy(b->data + start + offsetof(sw_format_section, length), &body, sizeof body);
}

void sw_buf_free(sw_buffer *b) {
    if (b->data) munmap(b->data, b->capacity);
    *b = (sw_buffer){0};
}
