/* Appending one chunk to a stack log (stacklog.c). */
#ifndef SW_STACKLOG_H
#define SW_STACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_encode.h"

/* Writes the chunk of dump `epoch` (sw_encode_log_body's body, deflated unless `deflate` is
 * false or zlib fails) with pwrite at state->length of the log open on `fd`, preceded by the
 * log header when the log is still empty. Only a completely written chunk advances the state
 * (sw_log_commit); after a failed or partial write the state is unchanged and the next chunk
 * overwrites the torn one. The stack count is read once, by the caller, after the live
 * snapshot: every stack a live entry names is covered. */
bool sw_stacklog_append(sw_log_state *state, int fd, uint32_t pid, uint64_t start_ns, uint32_t epoch,
                        const sw_stack_table *stacks, uint32_t count, const char *modules, size_t modules_len,
                        bool deflate);

#endif
