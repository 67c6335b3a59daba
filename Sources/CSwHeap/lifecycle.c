/* Start-up, exit and fork of the whole shim, in one place. Each module owns its state and
 * says how it survives fork (jemalloc's prefork/postfork style); this file only decides the
 * order. Called from the preload library's constructor and destructor (hooks.c), so a
 * process that merely links the core (the unit tests) starts nothing. */
#define _GNU_SOURCE
#include "shim.h"

#include <pthread.h>
#include <time.h>

/* fork: no lock of ours may be held across it (the child has only the forking thread, so
 * a lock held by another would stay held forever); the child starts with clean books. */
static void prefork(void) {
    sw_tls.busy++;
    sw_stacks_prefork(sw.stacks);
    sw_live_prefork(&sw_live_storage);
}

static void postfork_parent(void) {
    sw_live_postfork_parent(&sw_live_storage);
    sw_stacks_postfork_parent(sw.stacks);
    sw_tls.busy--;
}

static void postfork_child(void) {
    sw_live_postfork_child(&sw_live_storage);
    sw_stacks_postfork_child(sw.stacks);
    sw_dumper_postfork_child();
    sw_record_reset();
    sw_dump_reset(); /* the child writes its own files, under its own pid */
    sw.start_ns = sw_now_ns(CLOCK_MONOTONIC);
    if (sw.config.signal) sw_dumper_start();
    sw_tls.busy--;
}

void sw_lifecycle_start(void) {
    sw_tls.busy = 1;
    sw_config_load(&sw.config);
    if (!sw.config.follow) sw_config_stop_following();
    if (sw.config.rate == 0) goto done; /* profiling off */
    if (!sw_dumpfile_prepare(sw.config.dir)) {
        sw_warn(SW_WARN_DIRECTORY, "cannot write dumps to", sw.config.dir, "the program runs on unprofiled");
        goto done;
    }
    sw.stacks = sw_stacks_create(1u << 20, (size_t)1 << 30);
    if (!sw.stacks) {
        sw_warn(SW_WARN_MEMORY, "cannot map memory for its tables", NULL, "the program runs on unprofiled");
        goto done;
    }
    sw_unwind_init();
    sw.start_ns = sw_now_ns(CLOCK_MONOTONIC);
    sw_dump_reset();
    pthread_atfork(prefork, postfork_parent, postfork_child);
    sw_dumper_init();
    atomic_store_explicit(&sw.ready, 1, memory_order_release);
    /* A signal handler cannot start a thread: with SWHEAP_SIGNAL the writer waits from the
     * start. Otherwise it starts when first needed (sw_dumper_maybe_start). */
    if (sw.config.signal) sw_dumper_start();
done:
    sw_tls.busy = 0;
}

/* The exit dump, with the exit scan (a library destructor: programs ending in _exit, a
 * fatal signal or exec have no final dump). */
void sw_lifecycle_finish(void) {
    if (!atomic_load(&sw.ready)) return;
    sw_tls.busy = 1;
    sw_dumper_stop();
    sw_dumper_write(true);
}
