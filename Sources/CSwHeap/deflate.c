/* Deflating a dump body with zlib (Debian's zlib1g). zlib asks for its state, window and
 * hash tables through zalloc; ours maps them (sw_os_map), so deflating never re-enters the
 * hooks and works in a forked child or at exit like the rest of the dump path. */
#include "sw_deflate.h"
#include "sw_os.h"

#include <string.h>
#include <zlib.h>

/* Each block remembers its mapped size in front of it, for zfree. */
enum { BLOCK_HEADER = 16 };

static voidpf map_block(voidpf opaque, uInt items, uInt size) {
    (void)opaque;
    size_t bytes = (size_t)items * size + BLOCK_HEADER;
    char *p = sw_os_map(bytes, false);
    if (!p) return Z_NULL;
    memcpy(p, &bytes, sizeof bytes);
    return p + BLOCK_HEADER;
}

static void unmap_block(voidpf opaque, voidpf address) {
    (void)opaque;
    if (!address) return;
    char *p = (char *)address - BLOCK_HEADER;
    size_t bytes;
    memcpy(&bytes, p, sizeof bytes);
    sw_os_unmap(p, bytes);
}

/* zlib's default level for the small bodies of periodic dumps, where bytes on disk add up
 * over months; its fastest for large ones (an exact-mode log's first or last chunk, many MiB
 * of similar stacks), where the default level's search costs more than the program
 * (bench/exact-mode: 0.3x of a CPython run's instructions) for about 30% fewer bytes. */
enum { LARGE_BODY = 1 << 20 };

bool sw_deflate(sw_buffer *out, const void *in, size_t len) {
    if (out->failed) return false;
    z_stream z = {.zalloc = map_block, .zfree = unmap_block, .opaque = Z_NULL};
    if (deflateInit(&z, len >= LARGE_BODY ? Z_BEST_SPEED : Z_DEFAULT_COMPRESSION) != Z_OK) return false;
    size_t start = out->len;
    uLong bound = deflateBound(&z, (uLong)len);
    char *room = sw_buf_extend(out, bound);
    bool ok = false;
    if (room) {
        z.next_in = (Bytef *)in;
        z.avail_in = (uInt)len;
        z.next_out = (Bytef *)room;
        z.avail_out = (uInt)bound;
        ok = len <= 0xFFFFFFFFu && bound <= 0xFFFFFFFFu && deflate(&z, Z_FINISH) == Z_STREAM_END;
    }
    deflateEnd(&z);
    if (room) out->len = ok ? start + z.total_out : start;
    else out->failed = false, out->len = start; /* the buffer itself is still good */
    return ok;
}
