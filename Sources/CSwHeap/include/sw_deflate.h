/* zlib streams for the v2 dump bodies (deflate.c). */
#ifndef SW_DEFLATE_H
#define SW_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "sw_buffer.h"

/* Appends `in` to `out` as one zlib stream (RFC 1950). zlib's working memory comes from mmap,
 * never from the allocator the shim watches. On failure `out` is left as it was (its length
 * and failed flag unchanged) and false is returned: the caller writes the bytes plain. */
bool sw_deflate(sw_buffer *out, const void *in, size_t len);

#endif
