/* SWHEAP_KEEP: after each dump, delete this image's epoch files that sw_retention_keeps (the
 * policy shared with the reader, swheap_format.h) no longer keeps. Epochs count from the
 * image's first, so each image keeps its own first epoch. The stack log is never thinned: a
 * kept epoch file still stands alone with it. Used only under the dumper's lock. */
#define _GNU_SOURCE
#include "sw_dumpfile.h"
#include "sw_retention.h"
#include "sw_state.h"
#include "swheap_format.h"

#include <unistd.h>

static uint32_t first;  /* the image's first epoch */
static uint32_t thinned; /* the newest epoch the policy was last applied for, 0 = none */

void sw_retention_reset(uint32_t first_epoch) {
    first = first_epoch;
    thinned = 0;
}

uint64_t sw_retention_recent(uint64_t keep) { return keep / 16 > 2 ? keep / 16 : 2; }

void sw_retention_apply(uint32_t newest) {
    if (!sw.config.keep || newest < first) return;
    uint64_t recent = sw_retention_recent(sw.config.keep), now = newest - first + 1;
    uint64_t before = thinned >= first ? thinned - first + 1 : 0;
    uint32_t pid = (uint32_t)getpid();
    /* A file goes when it was kept at the last thinning (or none happened) and is not now:
     * the policy never keeps again what it dropped, so nothing else can be on disk. */
    for (uint64_t e = 1; e < now; e++)
        if ((before == 0 || sw_retention_keeps(e, before, recent)) && !sw_retention_keeps(e, now, recent))
            sw_dumpfile_remove(sw.config.dir, pid, (uint32_t)(e + first - 1));
    thinned = newest;
}
