/* This process image's stack log: its name, its open file and what it already holds. Used
 * only under the dumper's lock (dumper.c serialises every dump, the exit dump included). A
 * forked child starts its own log under its own pid; an image exec'd in place starts one
 * named by its first epoch (the descriptor is close-on-exec).
 *
 * Rotation: once the log has grown past its first chunk by `rotate_at` bytes (and by at least
 * that chunk's size), the next dump starts a new log <pid>.<epoch>.log whose first chunk is
 * complete (every stack, the modules, every nonzero allocation figure), so the epochs from
 * there on need no older log and retention can delete old logs with the epochs it thins. */
#define _GNU_SOURCE
#include "sw_dumpfile.h"
#include "sw_imagelog.h"
#include "sw_stacklog.h"
#include "sw_state.h"

#include <unistd.h>

static struct {
    uint32_t first_epoch; /* the epoch of the current log's first chunk (it names the log) */
    uint64_t first_chunk; /* the current log's bytes after its first chunk */
    int fd; /* -1 until the first dump opens the log */
    sw_log_state state;
    char name[48];
    size_t name_len;
} image = {.fd = -1};

void sw_imagelog_reset(uint32_t first_epoch) {
    /* In a forked child the descriptor is the parent's log: close our copy, never write it.
     * The per-stack array is kept (our private copy); the state says nothing is logged. */
    if (image.fd >= 0) close(image.fd);
    image.fd = -1;
    image.first_epoch = first_epoch;
    image.first_chunk = 0;
    double *alloc = image.state.alloc;
    uint32_t capacity = image.state.alloc_capacity;
    image.state = (sw_log_state){.alloc = alloc, .alloc_capacity = capacity};
}

/* Starts log <pid>.<epoch>.log with a complete first chunk; on failure the current log
 * stays as it was (the caller appends to it). */
static bool rotate(uint32_t pid, uint32_t epoch, const char *modules, size_t modules_len, uint32_t count) {
    int fd = sw_dumpfile_open_log(pid, epoch);
    if (fd < 0) return false;
    sw_log_state fresh = {.alloc = image.state.alloc, .alloc_capacity = image.state.alloc_capacity};
    /* The per-stack figures are overwritten only once the chunk is written (sw_log_commit),
     * so after a failure the old state, the old log's, still holds. */
    if (!sw_stacklog_append(&fresh, fd, pid, sw.start_ns, epoch, sw.stacks, count, modules, modules_len, true)) {
        close(fd);
        sw_dumpfile_remove_log(pid, epoch);
        return false;
    }
    close(image.fd);
    image.fd = fd;
    image.state = fresh;
    image.first_epoch = epoch;
    image.first_chunk = fresh.length;
    image.name_len = sw_dumpfile_log_name(image.name, pid, epoch);
    return true;
}

bool sw_imagelog_append(uint32_t epoch, const char *modules, size_t modules_len, uint64_t rotate_at, uint64_t *length,
                        const char **name, size_t *name_len, uint32_t *log_first) {
    uint32_t pid = (uint32_t)getpid();
    if (!image.state.alloc) {
        uint32_t ids = sw.stacks->max_ids;
        image.state.alloc = sw_os_map(((size_t)ids + 1) * 2 * sizeof(double), true);
        if (!image.state.alloc) return false;
        image.state.alloc_capacity = ids;
    }
    if (image.fd < 0) {
        image.fd = sw_dumpfile_open_log(pid, image.first_epoch);
        if (image.fd < 0) return false;
        image.state.length = 0;
        image.name_len = sw_dumpfile_log_name(image.name, pid, image.first_epoch);
    }
    /* After the live snapshot: every stack a live entry names is in the table by now. */
    uint32_t count = sw_stacks_count(sw.stacks);
    uint64_t grown = image.state.length - image.first_chunk;
    bool rotated = rotate_at && image.state.length && epoch > image.first_epoch && grown >= rotate_at &&
                   grown >= image.first_chunk && rotate(pid, epoch, modules, modules_len, count);
    if (!rotated && !sw_stacklog_append(&image.state, image.fd, pid, sw.start_ns, epoch, sw.stacks, count, modules, modules_len,
                            true)) {
        if (image.state.length == 0) { /* not even the first chunk: leave no partial file */
            close(image.fd);
            image.fd = -1;
            sw_dumpfile_remove_log(pid, image.first_epoch);
        }
        return false;
    }
    if (image.first_chunk == 0 || image.first_chunk > image.state.length) image.first_chunk = image.state.length;
    *length = image.state.length;
    *log_first = image.first_epoch;
    *name = image.name;
    *name_len = image.name_len;
    return true;
}
