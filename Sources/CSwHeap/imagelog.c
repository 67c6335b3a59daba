/* This process image's stack log: its name, its open file and what it already holds. Used
 * only under the dumper's lock (dumper.c serialises every dump, the exit dump included). A
 * forked child starts its own log under its own pid; an image exec'd in place starts one
 * named by its first epoch (the descriptor is close-on-exec). */
#define _GNU_SOURCE
#include "sw_dumpfile.h"
#include "sw_imagelog.h"
#include "sw_stacklog.h"
#include "sw_state.h"

#include <unistd.h>

static struct {
    uint32_t first_epoch;
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
    double *alloc = image.state.alloc;
    uint32_t capacity = image.state.alloc_capacity;
    image.state = (sw_log_state){.alloc = alloc, .alloc_capacity = capacity};
}

bool sw_imagelog_append(uint32_t epoch, const char *modules, size_t modules_len, uint64_t *length, const char **name,
                        size_t *name_len) {
    uint32_t pid = (uint32_t)getpid();
    if (!image.state.alloc) {
        uint32_t ids = sw.stacks->max_ids;
        image.state.alloc = sw_os_map(((size_t)ids + 1) * 2 * sizeof(double), true);
        if (!image.state.alloc) return false;
        image.state.alloc_capacity = ids;
    }
    if (image.fd < 0) {
        image.fd = sw_dumpfile_open_log(sw.config.dir, pid, image.first_epoch);
        if (image.fd < 0) return false;
        image.state.length = 0;
        image.name_len = sw_dumpfile_log_name(image.name, pid, image.first_epoch);
    }
    /* After the live snapshot: every stack a live entry names is in the table by now. */
    uint32_t count = sw_stacks_count(sw.stacks);
    if (!sw_stacklog_append(&image.state, image.fd, pid, sw.start_ns, epoch, sw.stacks, count, modules, modules_len,
                            true)) {
        if (image.state.length == 0) { /* not even the first chunk: leave no partial file */
            close(image.fd);
            image.fd = -1;
            sw_dumpfile_remove_log(sw.config.dir, pid, image.first_epoch);
        }
        return false;
    }
    *length = image.state.length;
    *name = image.name;
    *name_len = image.name_len;
    return true;
}
