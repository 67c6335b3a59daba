/* The thread census (sw_census.h). Each thread made while profiling has a record from the
 * moment it is asked for until it is gone; the records of gone threads go back to a free list,
 * so the records in use are the threads that exist (running or never joined) and the memory
 * touched is their peak. Sites (one per creation stack) only ever gain entries, like the stack
 * table. Records are found by pthread_t through a chained hash; a pthread_t is reused only
 * once its thread is gone, and a gone record leaves the hash first.
 *
 * Every table is mmap'd (no malloc) and guarded by one lock, taken only when a thread is
 * created, ends, is joined or detached, and when a dump copies the sites. */
#define _GNU_SOURCE
#include "sw_census.h"
#include "sw_os.h"
#include "sw_state.h"
#include "swheap_format.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

enum { RUNNING = 1, EXITED = 2, GONE = 3 };
enum { SITES = 4096, RECORDS = 1 << 18, BUCKETS = 1 << 14 };

struct sw_census_thread {
    pthread_t id;
    void *(*start)(void *); /* the program's start routine and argument, until the thread starts */
    void *arg;
    uint64_t stack_bytes;
    uint32_t site;
    uint32_t link; /* next in the hash chain or the free list: index + 1, 0 = none */
    uint8_t state;
    bool detached, joining, hashed, has_id, creator_done;
};

typedef struct {
    uint32_t stack_id;
    uint32_t used;
    uint64_t running, exited_unjoined, gone, stack_bytes, unjoined_bytes;
} census_site;

static struct {
    sw_lock lock;
    census_site *sites;        /* slot 0: stack 0 (unknown stack, or no room for the site) */
    sw_census_thread *records;
    uint32_t *buckets;         /* pthread_t hash -> record index + 1 */
    uint32_t used;             /* records handed out at least once */
    uint32_t free_list;
    uint32_t before_profiling;
    bool truncated;
    bool ready;
} census;

/* The lock, with the thread marked busy while it holds it: an _exit from a signal handler that
 * interrupted it then writes no exit dump, which would wait for this lock for ever
 * (sw_lifecycle_exit). */
static void lock(void) {
    sw_tls.busy++;
    sw_lock_acquire(&census.lock);
}

static void unlock(void) {
    sw_lock_release(&census.lock);
    sw_tls.busy--;
}

static __thread sw_census_thread *self_record __attribute__((tls_model("initial-exec")));

static const size_t sites_bytes = SITES * sizeof(census_site);
static const size_t records_bytes = (size_t)RECORDS * sizeof(sw_census_thread);
static const size_t buckets_bytes = BUCKETS * sizeof(uint32_t);

static void unmap_tables(void) {
    if (census.sites) sw_os_unmap(census.sites, sites_bytes);
    if (census.records) sw_os_unmap(census.records, records_bytes);
    if (census.buckets) sw_os_unmap(census.buckets, buckets_bytes);
    census.sites = NULL, census.records = NULL, census.buckets = NULL;
}

static bool map_tables(void) {
    census.sites = sw_os_map(sites_bytes, true);
    census.records = sw_os_map(records_bytes, true);
    census.buckets = sw_os_map(buckets_bytes, true);
    census.used = census.free_list = 0;
    census.truncated = false;
    if (census.sites && census.records && census.buckets) return true;
    unmap_tables();
    return false;
}

static bool count_task(const char *name, void *count) {
    if (name[0] >= '1' && name[0] <= '9') ++*(uint32_t *)count;
    return true;
}

uint32_t sw_census_count_tasks(void) {
    int fd = sw_os_open(AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) return 0;
    uint32_t n = 0;
    bool read = sw_os_each_entry(fd, count_task, &n);
    close(fd);
    return read ? n : 0;
}

bool sw_census_init(void) {
    census.before_profiling = sw_census_count_tasks();
    census.ready = map_tables();
    return census.ready;
}

static uint32_t hash_id(pthread_t id) {
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 40) & (BUCKETS - 1);
}

static uint32_t index_of(const sw_census_thread *t) { return (uint32_t)(t - census.records); }

static void hash_insert(sw_census_thread *t) {
    uint32_t *head = &census.buckets[hash_id(t->id)];
    t->link = *head;
    *head = index_of(t) + 1;
    t->hashed = true;
}

static void hash_remove(sw_census_thread *t) {
    if (!t->hashed) return;
    for (uint32_t *at = &census.buckets[hash_id(t->id)]; *at; at = &census.records[*at - 1].link) {
        if (&census.records[*at - 1] == t) {
            *at = t->link;
            break;
        }
    }
    t->link = 0;
    t->hashed = false;
}

/* The record of thread `id` in `state`, not being joined; NULL if none. */
static sw_census_thread *find(pthread_t id, uint8_t state) {
    for (uint32_t i = census.buckets[hash_id(id)]; i; i = census.records[i - 1].link) {
        sw_census_thread *t = &census.records[i - 1];
        if (t->id == id && t->state == state && !t->joining) return t;
    }
    return NULL;
}

static void release(sw_census_thread *t) {
    memset(t, 0, sizeof *t);
    t->link = census.free_list;
    census.free_list = index_of(t) + 1;
}

static uint32_t site_for(uint32_t stack_id) {
    if (stack_id == 0) return 0;
    uint32_t h = (uint32_t)(stack_id * 0x9E3779B1u);
    for (uint32_t probe = 0; probe < SITES - 1; probe++) {
        uint32_t i = 1 + (h + probe) % (SITES - 1);
        census_site *s = &census.sites[i];
        if (s->used && s->stack_id == stack_id) return i;
        if (!s->used) {
            s->used = 1;
            s->stack_id = stack_id;
            return i;
        }
    }
    census.truncated = true;
    return 0;
}

/* A thread that was running or exited is gone: counted, and its record leaves the hash (and
 * is freed once its creator no longer holds it). */
static void to_gone(sw_census_thread *t) {
    census_site *s = &census.sites[t->site];
    if (t->state == RUNNING) s->running--;
    else if (t->state == EXITED) s->exited_unjoined--, s->unjoined_bytes -= t->stack_bytes;
    s->gone++;
    s->stack_bytes -= t->stack_bytes;
    t->state = GONE;
    hash_remove(t);
    if (t->creator_done) release(t);
}

sw_census_thread *sw_census_reserve(uint32_t stack_id, uint64_t stack_bytes, bool detached, void *(*start)(void *),
                                    void *arg) {
    if (!census.ready) return NULL;
    lock();
    sw_census_thread *t = NULL;
    if (census.free_list) {
        t = &census.records[census.free_list - 1];
        census.free_list = t->link;
    } else if (census.used < RECORDS) {
        t = &census.records[census.used++];
    }
    if (!t) {
        census.truncated = true;
        unlock();
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->start = start, t->arg = arg, t->stack_bytes = stack_bytes, t->detached = detached;
    t->site = site_for(stack_id);
    t->state = RUNNING;
    census_site *s = &census.sites[t->site];
    s->used = 1;
    s->running++;
    s->stack_bytes += stack_bytes;
    unlock();
    return t;
}

void sw_census_created(sw_census_thread *t, pthread_t id) {
    lock();
    if (!t->has_id && t->state != GONE) {
        t->id = id, t->has_id = true;
        hash_insert(t);
    }
    t->creator_done = true;
    if (t->state == GONE) release(t); /* it ended and was detached before pthread_create returned */
    unlock();
}

void sw_census_failed(sw_census_thread *t) {
    lock();
    census_site *s = &census.sites[t->site];
    s->running--;
    s->stack_bytes -= t->stack_bytes;
    hash_remove(t);
    release(t);
    unlock();
}

void sw_census_begin(sw_census_thread *t, void *(**start)(void *), void **arg) {
    lock();
    *start = t->start, *arg = t->arg;
    t->start = NULL, t->arg = NULL;
    if (!t->has_id) {
        t->id = pthread_self(), t->has_id = true;
        hash_insert(t);
    }
    unlock();
    self_record = t;
}

void sw_census_end(void) {
    sw_census_thread *t = self_record;
    if (!t) return;
    self_record = NULL;
    lock();
    if (t->state == RUNNING) {
        if (t->detached) to_gone(t);
        else {
            census.sites[t->site].running--;
            census.sites[t->site].exited_unjoined++;
            census.sites[t->site].unjoined_bytes += t->stack_bytes;
            t->state = EXITED;
        }
    }
    unlock();
}

sw_census_thread *sw_census_join_begin(pthread_t id) {
    if (!census.ready) return NULL;
    lock();
    sw_census_thread *t = find(id, EXITED);
    if (!t) t = find(id, RUNNING);
    if (t) t->joining = true;
    unlock();
    return t;
}

void sw_census_join_end(sw_census_thread *t, bool joined) {
    lock();
    t->joining = false;
    if (joined && t->state != GONE) to_gone(t);
    unlock();
}

void sw_census_detached(pthread_t id) {
    if (!census.ready) return;
    lock();
    /* An exited thread first: its id cannot have been reused, a running one with that id may
     * be a newer thread if this one ended and was freed since pthread_detach returned. */
    sw_census_thread *t = find(id, EXITED);
    if (t) to_gone(t);
    else if ((t = find(id, RUNNING))) t->detached = true;
    unlock();
}

/* Shell sort by stack id, through memcpy: the records in the buffer need not be aligned. */
static uint32_t id_at(const char *a, size_t i) {
    uint32_t id;
    memcpy(&id, a + i * sizeof(sw_format_thread_site), sizeof id);
    return id;
}

static void sort_sites(char *a, size_t n) {
    enum { SIZE = sizeof(sw_format_thread_site) };
    for (size_t gap = n / 2; gap > 0; gap /= 2)
        for (size_t i = gap; i < n; i++)
            for (size_t j = i; j >= gap && id_at(a, j - gap) > id_at(a, j); j -= gap) {
                char t[SIZE];
                memcpy(t, a + j * SIZE, SIZE);
                memcpy(a + j * SIZE, a + (j - gap) * SIZE, SIZE);
                memcpy(a + (j - gap) * SIZE, t, SIZE);
            }
}

void sw_census_write(sw_buffer *out, uint32_t shim_threads) {
    sw_format_threads head = {.tasks = sw_census_count_tasks(), .before_profiling = census.before_profiling};
    size_t head_at = out->len;
    sw_buf_put(out, &head, sizeof head);
    size_t count_at = out->len;
    sw_buf_u32(out, 0);
    if (!census.ready) {
        head.flags = SW_THREADS_FLAG_TRUNCATED;
        head.untracked = head.tasks > shim_threads ? head.tasks - shim_threads : 0;
        if (!out->failed) memcpy(out->data + head_at, &head, sizeof head);
        return;
    }
    lock();
    uint32_t n = 0;
    uint64_t running = 0;
    for (uint32_t i = 0; i < SITES; i++) {
        const census_site *s = &census.sites[i];
        if (!s->used || (!s->running && !s->exited_unjoined && !s->gone)) continue; /* only failed creations */
        sw_format_thread_site r = {.stack_id = s->stack_id, .running = s->running, .exited_unjoined = s->exited_unjoined,
                                   .gone = s->gone, .stack_bytes = s->stack_bytes,
                                   .unjoined_bytes = s->unjoined_bytes};
        sw_buf_put(out, &r, sizeof r);
        running += s->running;
        n++;
    }
    head.flags = census.truncated ? SW_THREADS_FLAG_TRUNCATED : 0;
    unlock();
    uint64_t known = running + shim_threads;
    head.untracked = head.tasks > known ? (uint32_t)(head.tasks - known) : 0;
    if (out->failed) return;
    memcpy(out->data + head_at, &head, sizeof head);
    memcpy(out->data + count_at, &n, sizeof n);
    sort_sites(out->data + count_at + sizeof n, n);
}

void sw_census_prefork(void) { sw_lock_acquire(&census.lock); }

void sw_census_postfork_parent(void) { sw_lock_release(&census.lock); }

void sw_census_postfork_child(void) {
    census.lock = (sw_lock){0};
    self_record = NULL; /* the forking thread is the child's first, made before its profiling */
    census.before_profiling = 1;
    if (census.ready) {
        unmap_tables();
        census.ready = map_tables();
    }
}
