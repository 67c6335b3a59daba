/* pthread_create, pthread_join (and its try, timed and clock variants) and pthread_detach, for
 * the thread census (census.c): every thread created while profiling is recorded, not
 * sampled, with its creation stack and its stack mapping's size, and followed until it is
 * gone. The thread runs `thread_main`, which takes its start routine back from the census and
 * notes its end however it comes (return, pthread_exit from nested calls, cancellation)
 * through a cleanup handler. Each entry point goes on to the next definition (glibc's, or a
 * sanitizer runtime's), looked up once with dlsym(RTLD_NEXT) as next_allocator.c does.
 * Nothing here is on an allocation path: malloc and free never see the census. Threads the
 * shim makes itself (the writer, created while `busy`) pass straight through. */
#define _GNU_SOURCE
#include "sw_census.h"
#include "sw_os.h"
#include "sw_state.h"
#include "sw_unwind.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef int (*join_fn)(pthread_t, void **);
typedef int (*timedjoin_fn)(pthread_t, void **, const struct timespec *);
typedef int (*clockjoin_fn)(pthread_t, void **, clockid_t, const struct timespec *);
typedef int (*detach_fn)(pthread_t);

static struct {
    create_fn create;
    join_fn join, tryjoin;
    timedjoin_fn timedjoin;
    clockjoin_fn clockjoin;
    detach_fn detach;
    _Atomic int resolved;
} next;

/* dlsym is safe here (none of these is called from a signal handler); two threads resolving
 * at once store the same pointers. */
static void resolve(void) {
    if (SW_LIKELY(atomic_load_explicit(&next.resolved, memory_order_acquire))) return;
    next.create = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
    next.join = (join_fn)dlsym(RTLD_NEXT, "pthread_join");
    next.tryjoin = (join_fn)dlsym(RTLD_NEXT, "pthread_tryjoin_np");
    next.timedjoin = (timedjoin_fn)dlsym(RTLD_NEXT, "pthread_timedjoin_np");
    next.clockjoin = (clockjoin_fn)dlsym(RTLD_NEXT, "pthread_clockjoin_np");
    next.detach = (detach_fn)dlsym(RTLD_NEXT, "pthread_detach");
    atomic_store_explicit(&next.resolved, 1, memory_order_release);
}

__attribute__((constructor)) static void find_next_threads(void) { resolve(); }

static void thread_ended(void *unused) {
    (void)unused;
    sw_census_end();
}

/* Every census thread starts here. The cleanup handler runs when the start routine returns
 * (pop(1)), and when the thread exits or is cancelled inside it (the unwinder runs it). */
static void *thread_main(void *record) {
    void *(*start)(void *);
    void *arg, *result;
    sw_census_begin(record, &start, &arg);
    pthread_cleanup_push(thread_ended, NULL);
    result = start(arg);
    pthread_cleanup_pop(1);
    return result;
}

/* The stack mapping the thread library makes for attr: its stack size plus guard (the default
 * size comes from RLIMIT_STACK at the program's start, as glibc takes it). */
static uint64_t stack_bytes(const pthread_attr_t *attr, bool *detached) {
    pthread_attr_t defaults;
    if (!attr) {
        if (pthread_attr_init(&defaults) != 0) return 0;
        attr = &defaults;
    }
    size_t size = 0, guard = 0;
    int state = PTHREAD_CREATE_JOINABLE;
    pthread_attr_getstacksize(attr, &size);
    pthread_attr_getguardsize(attr, &guard);
    pthread_attr_getdetachstate(attr, &state);
    *detached = state == PTHREAD_CREATE_DETACHED;
    if (attr == &defaults) pthread_attr_destroy(&defaults);
    return (uint64_t)size + guard;
}

SW_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg) {
    resolve();
    if (!sw_state_is_open() || sw_tls.busy) return next.create(thread, attr, start, arg);
    int saved_errno = errno;
    sw_tls.busy++; /* unwinding may allocate: not sampled */
    uintptr_t pcs[SW_MAX_DEPTH];
    uint32_t depth = sw_unwind(pcs, sw.config.depth);
    uint32_t id = sw_stacks_intern(sw.stacks, pcs, depth);
    if (id == SW_STACK_UNKNOWN) id = 0; /* empty, or no room in the stack table */
    bool detached = false;
    uint64_t bytes = stack_bytes(attr, &detached);
    sw_census_thread *record = sw_census_reserve(id, bytes, detached, start, arg);
    sw_tls.busy--;
    errno = saved_errno;
    if (!record) return next.create(thread, attr, start, arg);
    int r = next.create(thread, attr, thread_main, record);
    if (r == 0) sw_census_created(record, *thread);
    else sw_census_failed(record); /* EAGAIN and the like: the same error, nothing recorded */
    return r;
}

/* A join through `call`; the census learns of it when it succeeds. */
#define JOIN(call)                                                  \
    do {                                                            \
        sw_census_thread *record = sw_census_join_begin(thread);    \
        int r = (call);                                             \
        if (record) sw_census_join_end(record, r == 0);             \
        return r;                                                   \
    } while (0)

SW_EXPORT int pthread_join(pthread_t thread, void **result) {
    resolve();
    JOIN(next.join(thread, result));
}

/* The variants exist in glibc since 2.3.3 (try, timed) and 2.31 (clock); a program that finds
 * them through this library on an older one gets ENOSYS, not a call through a null pointer. */
SW_EXPORT int pthread_tryjoin_np(pthread_t thread, void **result) {
    resolve();
    if (!next.tryjoin) return ENOSYS;
    JOIN(next.tryjoin(thread, result));
}

SW_EXPORT int pthread_timedjoin_np(pthread_t thread, void **result, const struct timespec *deadline) {
    resolve();
    if (!next.timedjoin) return ENOSYS;
    JOIN(next.timedjoin(thread, result, deadline));
}

SW_EXPORT int pthread_clockjoin_np(pthread_t thread, void **result, clockid_t clock, const struct timespec *deadline) {
    resolve();
    if (!next.clockjoin) return ENOSYS;
    JOIN(next.clockjoin(thread, result, clock, deadline));
}

SW_EXPORT int pthread_detach(pthread_t thread) {
    resolve();
    int r = next.detach(thread);
    if (r == 0) sw_census_detached(thread);
    return r;
}
