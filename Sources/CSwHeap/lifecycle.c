/* Start-up, exit and fork of the whole shim, in one place. Each module owns its state and
 * says how it survives fork (jemalloc's prefork/postfork style); this file only decides the
 * order. Called from the preload library's constructor and destructor (hooks.c), so a
 * process that merely links the core (the unit tests) starts nothing. */
#define _GNU_SOURCE
#include "sw_census.h"
#include "sw_config.h"
#include "sw_stack_cache.h"
#include "sw_dump.h"
#include "sw_dumper.h"
#include "sw_dumpfile.h"
#include "sw_lifecycle.h"
#include "sw_memory.h"
#include "sw_next_allocator.h"
#include "sw_note.h"
#include "sw_scan_keys.h"
#include "sw_state.h"
#include "sw_unwind.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The final dump is written once per process, by whichever exit comes first. */
static atomic_int final_claimed;
/* This process's pid: a vfork child (or a raw clone) shares our memory under another pid. */
static pid_t own_pid;

/* fork: no lock of ours may be held across it (the child has only the forking thread, so
 * a lock held by another would stay held forever); the child starts with clean books. */
static void prefork(void) {
    sw_tls.busy++;
    sw_census_prefork();
    sw_state_prefork();
}

static void postfork_parent(void) {
    sw_state_postfork_parent();
    sw_census_postfork_parent();
    sw_tls.busy--;
}

static void postfork_child(void) {
    sw_state_postfork_child();
    sw_census_postfork_child();
    sw_dumper_postfork_child();
    sw_next_postfork_child();
    sw_note_postfork_child(); /* the parent's note, not ours */
    sw_memory_postfork_child();
    atomic_store(&final_claimed, 0);
    own_pid = getpid();
    if (sw.attached) {
        /* `swheap attach` profiles the process it was given, not its children: the child
         * samples nothing (its hooks pass every call on) and writes no file. */
        sw_state_close();
        sw.attached = false;
        sw_tls.busy--;
        return;
    }
    sw_dump_reset(); /* the child writes its own files, under its own pid */
    sw.start_ns = sw_now_ns(CLOCK_MONOTONIC);
    sw_dumper_start(); /* the writer thread did not survive fork */
    sw_tls.busy--;
}

void sw_lifecycle_start(void) {
    /* Loaded into a running process by dlopen (`swheap attach`), not preloaded: nothing
     * starts until swheap_attach asks (Sources/CSwHeapPreload/attach.c). */
    if (!sw_lifecycle_preloaded()) return;
    sw_tls.busy = 1;
    sw_config_load(&sw.config);
    if (!sw.config.follow) sw_config_stop_following();
    if (sw.config.rate == 0) goto done; /* profiling off */
    if (!sw_dumpfile_prepare(sw.config.dir)) {
        char detail[sizeof sw.config.dir + 200];
        int err = sw_dumpfile_error();
        snprintf(detail, sizeof detail, "%s: %s (errno %d); pid %d (%s), uid %u", sw.config.dir, strerror(err), err,
                 (int)getpid(), sw_process_name(), (unsigned)geteuid());
        sw_warn(SW_WARN_DIRECTORY, "cannot write dumps to", detail,
                "the program runs on unprofiled; give it a SWHEAP_DIR it can create and write");
        goto done;
    }
    if (!sw_state_create_tables()) {
        sw_warn(SW_WARN_MEMORY, "cannot map memory for its tables", NULL, "the program runs on unprofiled");
        goto done;
    }
    if (!sw_census_init()) sw_warn(SW_WARN_MEMORY, "cannot map memory for the thread census", NULL, "threads are not counted");
    sw_allocator_is_glibc(); /* look the allocator up now, not inside a later hook */
    sw_memory_init();        /* and its statistics call, for the MEMORY record */
    if (sw.config.scan) sw_keys_learn(); /* while the program has made few keys (a scan names them) */
    sw_unwind_init(sw.config.frame_pointers);
    sw_stack_cache_init(sw.config.depth);
    own_pid = getpid();
    sw.start_ns = sw_now_ns(CLOCK_MONOTONIC);
    sw_dump_reset();
    pthread_atfork(prefork, postfork_parent, postfork_child);
    at_quick_exit(sw_lifecycle_exit); /* registered first, so it runs after the program's own */
    sw_dumper_init();
    sw_state_open();
    /* The writer starts now, not with a later allocation, so a program that goes quiet after
     * start-up and is then killed still has its periodic dumps (see sw_dumper_start). */
    sw_dumper_start();
done:
    sw_tls.busy = 0;
}

bool sw_lifecycle_own_process(void) { return sw_state_is_open() && getpid() == own_pid; }

/* Whether this library was loaded at start-up (LD_PRELOAD, /etc/ld.so.preload, a program
 * linked against it) rather than by a later dlopen: then the program's malloc is this
 * library's own. LD_PRELOAD is looked at
 * first, so that an allocator preloaded before swheap keeps today's behaviour. */
bool sw_lifecycle_preloaded(void) {
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "libswheap")) return true;
    /* Not dlsym on this library's own handle: a library loaded as a program's dependency has
     * no search list of its own to look in. */
    Dl_info self, bound;
    void *global = dlsym(RTLD_DEFAULT, "malloc");
    if (!dladdr((void *)sw_lifecycle_preloaded, &self) || !global || !dladdr(global, &bound)) return true;
    return bound.dli_fbase == self.dli_fbase;
}

/* Attach mode: the settings are in sw.config already (attach.c). Everything but the hooks
 * and the writer; false with *why set when the process must run on unprofiled. A second
 * attach (after a detach) starts clean: the live table empties and the stack weights go to
 * zero, as in a forked child, while stack ids and the threads' stack caches stay valid. */
bool sw_lifecycle_attach(const char **why) {
    static bool once;
    sw_tls.busy++;
    bool ok = false;
    if (!sw_dumpfile_prepare(sw.config.dir)) {
        *why = "cannot write dumps to the directory (it must be a directory of the program's user, not a symbolic link)";
        goto done;
    }
    if (!once) {
        if (!sw_state_create_tables()) {
            *why = "cannot map memory for its tables";
            goto done;
        }
        /* threads made while attached are not hooked: the census counts them from /proc
         * (without its memory, the record says the census was incomplete) */
        (void)sw_census_init();
        sw_unwind_init(sw.config.frame_pointers);
        sw_stack_cache_init(sw.config.depth);
        pthread_atfork(prefork, postfork_parent, postfork_child);
        at_quick_exit(sw_lifecycle_exit);
        once = true;
    } else {
        sw_state_prefork(); /* waits for any hook still inside a table */
        sw_state_postfork_child();
        sw_dumper_postfork_child(); /* the writer's flags start afresh */
    }
    atomic_store(&final_claimed, 0);
    own_pid = getpid();
    sw_memory_init(); /* after sw_next_resolve_attached: the allocator the program binds to */
    if (sw.config.scan) sw_keys_learn();
    sw.start_ns = sw_now_ns(CLOCK_MONOTONIC);
    sw_dump_reset();
    sw_dumper_init();
    ok = true;
done:
    sw_tls.busy--;
    return ok;
}

/* The hooks are in place: sampling and the writer begin. */
void sw_lifecycle_attached(void) {
    sw_state_open();
    sw_dumper_start();
}

/* Detach, after the hooks were put back: no new samples, the writer stops, one last dump
 * (not an exit dump: no exit scan, the process runs on). */
void sw_lifecycle_detach(void) {
    sw_tls.busy++;
    sw_state_close();
    sw_dumper_stop();
    sw.attach.detached_wall_ns = sw_now_ns(CLOCK_REALTIME);
    sw_dumper_write(false, true);
    sw_memory_stop_asker(); /* the shim's threads end with detach */
    atomic_store(&final_claimed, 1); /* an exit after detach writes nothing */
    sw_tls.busy--;
}

/* The exit dump, with the exit scan: from the library destructor (exit, return from main). */
void sw_lifecycle_finish(void) {
    if (!sw_state_is_open() || atomic_exchange(&final_claimed, 1)) return;
    sw_tls.busy = 1;
    sw_state_close();
    sw_dumper_stop();
    sw_dumper_write(true, true);
}

/* The exit dump from _exit, _Exit and quick_exit, which run no destructor. These may be
 * called from a signal handler or a vfork child, so no dump is written when that would be
 * unsafe: in a vfork child (our memory is the parent's, which carries on), or when this
 * thread is inside the profiler (it may hold one of our locks: the dump would wait for
 * itself). The writer thread is not joined (no pthread_join in a signal handler): the final
 * dump is serialised with it, and it writes nothing after. */
void sw_lifecycle_exit(void) {
    if (!sw_state_is_open() || sw_tls.busy || getpid() != own_pid) return;
    if (atomic_exchange(&final_claimed, 1)) return;
    sw_tls.busy = 1;
    sw_state_close();
    sw_dumper_write(true, false); /* maybe in a signal handler: the allocator is not asked */
    sw_tls.busy = 0;
}
