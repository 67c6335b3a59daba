/* Settings read once from the environment at start-up (config.c). */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t rate;            /* SWHEAP_RATE, 0 = off, 1 = exact */
    uint32_t depth;           /* SWHEAP_DEPTH */
    uint64_t interval_ns;     /* SWHEAP_INTERVAL, 0 = no periodic dumps */
    uint64_t dump_bytes;      /* SWHEAP_DUMP_BYTES, 0 = off */
    int signal;               /* SWHEAP_SIGNAL, 0 = off */
    uint64_t keep;            /* SWHEAP_KEEP, 0 = keep every epoch file */
    uint64_t max_bytes;       /* SWHEAP_MAX_BYTES, the image's disk budget; 0 = keep everything */
    bool follow;              /* SWHEAP_FOLLOW */
    bool scan;                /* SWHEAP_SCAN */
    uint64_t scan_max_bytes;  /* SWHEAP_SCAN_MAX_BYTES: memory the conservative scan reads at most */
    uint64_t scan_interval_ns; /* SWHEAP_SCAN_INTERVAL: live scans, 0 = only when asked (`swheap scan`) */
    bool frame_pointers;      /* SWHEAP_UNWIND=fp */
    char dir[4096];           /* SWHEAP_DIR or ./swheap.<program>.<pid>, absolute */
} sw_config;

void sw_config_load(sw_config *c);
/* SWHEAP_FOLLOW=0: takes libswheap out of LD_PRELOAD, so exec'd children run without it. */
void sw_config_stop_following(void);
/* Whether SWHEAP_SIGNAL may be `sig`: a signal the program can catch and that does not
 * report a fault of its own (SIGSEGV, SIGBUS, ...), whose handler must stay the program's. */
bool sw_config_signal_allowed(int sig);

#endif
