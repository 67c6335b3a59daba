/* The stack log's writer: one chunk per dump, written with pwrite at the end of what the log
 * already holds. The epoch file that names the chunk is renamed into place only after this
 * returns true, so a reader never meets an epoch whose chunk is torn; a torn chunk (the
 * process died mid-write) sits beyond every named length and is overwritten by the next. */
#define _GNU_SOURCE
#include "sw_deflate.h"
#include "sw_dumpfile.h"
#include "sw_stacklog.h"
#include "swheap_format.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static bool write_all_at(int fd, const char *bytes, size_t len, uint64_t offset) {
    while (len) {
        ssize_t n = sw_io.pwrite(fd, bytes, len, (off_t)offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            sw_dumpfile_note_error(n < 0 ? errno : ENOSPC);
            return false;
        }
        bytes += n, len -= (size_t)n, offset += (uint64_t)n;
    }
    return true;
}

bool sw_stacklog_append(sw_log_state *state, int fd, uint32_t pid, uint64_t start_ns, uint32_t epoch,
                        const sw_stack_table *stacks, uint32_t count, const char *modules, size_t modules_len,
                        bool deflate) {
    sw_buffer body = {0}, out = {0};
    sw_log_pending pending;
    bool ok = sw_encode_log_body(&body, &pending, state, stacks, count, modules, modules_len);
    if (ok && state->length == 0) {
        sw_format_log_header header = {.version = SW_FORMAT_VERSION, .pid = pid, .start_ns = start_ns};
        memcpy(header.magic, SW_LOG_MAGIC, SW_FORMAT_MAGIC_SIZE);
        sw_buf_put(&out, &header, sizeof header);
    }
    size_t chunk_at = out.len;
    sw_format_log_chunk chunk = {.epoch = epoch, .raw_length = body.len};
    sw_buf_put(&out, &chunk, sizeof chunk);
    if (ok && deflate && sw_deflate(&out, body.data, body.len)) chunk.flags = SW_LOG_FLAG_DEFLATED;
    else if (ok) sw_buf_put(&out, body.data, body.len);
    chunk.stored_length = out.len - chunk_at - sizeof chunk;
    if (ok && !out.failed) memcpy(out.data + chunk_at, &chunk, sizeof chunk);
    ok = ok && !out.failed && write_all_at(fd, out.data, out.len, state->length);
    if (ok) sw_log_commit(state, &pending, body.data, state->length + out.len);
    sw_buf_free(&out);
    sw_buf_free(&body);
    return ok;
}
