/* The thread census (census.c): every thread made by pthread_create while profiling, by
 * creation stack, in one of three states: running, exited but never joined (its stack stays
 * mapped until pthread_join), or gone (joined, or detached and ended). Gone threads are only
 * counted per site, so the memory held is bounded by the threads that exist at once. The
 * hooks (Sources/CSwHeapPreload/threads.c) report the events; the dump writes the THREADS
 * section (swheap_format.h) from it. Every table is mmap'd; one lock guards them, taken only
 * on thread creation, exit, join and detach, never on an allocation path. */
#ifndef SW_CENSUS_H
#define SW_CENSUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sw_buffer.h"

typedef struct sw_census_thread sw_census_thread;

/* At start-up: maps the tables and counts the threads already there (before profiling). */
bool sw_census_init(void);

/* Before the real pthread_create: a record for the thread, counted as running from now (so its
 * end, which may come before pthread_create returns, always has something to undo). NULL when
 * the census is off or full: the thread then runs unwatched (the census says it was full). */
sw_census_thread *sw_census_reserve(uint32_t stack_id, uint64_t stack_bytes, bool detached, void *(*start)(void *),
                                    void *arg);
/* After it: pthread_create succeeded with this id, or failed (then nothing is counted). */
void sw_census_created(sw_census_thread *t, pthread_t id);
void sw_census_failed(sw_census_thread *t);

/* In the new thread, first: its start routine and argument (taken out of the record, which
 * then holds no pointer into the program's heap). */
void sw_census_begin(sw_census_thread *t, void *(**start)(void *), void **arg);
/* In the thread, when its start routine returns or it exits or is cancelled. */
void sw_census_end(void);

/* pthread_join and its timed and try variants: the record before the call (NULL if the
 * thread is not one of the census's), then whether the join succeeded. */
sw_census_thread *sw_census_join_begin(pthread_t id);
void sw_census_join_end(sw_census_thread *t, bool joined);
/* pthread_detach succeeded. */
void sw_census_detached(pthread_t id);

/* THREADS section body (without section header): the fixed part, u32 count and the sites
 * sorted by stack id. `shim_threads` is the shim's own threads alive now. */
void sw_census_write(sw_buffer *out, uint32_t shim_threads);

/* Threads in /proc/self/task now (raw reads); 0 when it cannot be read. */
uint32_t sw_census_count_tasks(void);

/* fork: the lock is not held across it; a forked child has one thread, made before its
 * profiling, and a census of its own. */
void sw_census_prefork(void);
void sw_census_postfork_parent(void);
void sw_census_postfork_child(void);

#endif
