/* A growable output buffer in mmap'd memory (buffer.c). */
#ifndef SW_BUFFER_H
#define SW_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer in mmap'd memory. Once an allocation fails it stays failed and
 * ignores further writes, so writers check once at the end. Zero-initialised is empty. */
typedef struct sw_buffer {
    char *data;
    size_t len, capacity;
    bool failed;
} sw_buffer;
void sw_buf_put(sw_buffer *b, const void *bytes, size_t n);
/* Appends n bytes left for the caller to fill; NULL when out of memory. */
void *sw_buf_extend(sw_buffer *b, size_t n);
void sw_buf_u32(sw_buffer *b, uint32_t v);
void sw_buf_u64(sw_buffer *b, uint64_t v);
void sw_buf_f64(sw_buffer *b, double v);
/* A format string: u32 length, then the bytes. */
void sw_buf_str(sw_buffer *b, const char *s, size_t n);
/* A section header with its length left 0; returns where the section starts. */
size_t sw_buf_begin_section(sw_buffer *b, uint32_t tag);
/* Patches the length of the section begun at `start` to the bytes written since. */
void sw_buf_end_section(sw_buffer *b, size_t start);
void sw_buf_free(sw_buffer *b);

#endif
