/* The sampled path (record.c): what happens when a thread's countdown runs out, and when a
 * block that may be sampled is freed. */
#ifndef SW_RECORD_H
#define SW_RECORD_H

#include <stdbool.h>
#include <stddef.h>

/* The countdown ran out on an allocation of `size` bytes at p: sample it or not. */
void sw_countdown_expired(void *p, size_t size);
/* p is being freed: out of the live table if it was sampled. */
void sw_forget(void *p);

/* Whether the instrumented core may run in this thread: always in the real library. The
 * sanitizer build (scripts/sanitizers, -DSW_SANITIZER_GATE) asks the runtime, which cannot
 * follow a thread before it has set it up or after it has torn it down
 * (Tests/Sanitizers/follows_thread.c); such a thread's allocations are not sampled and its
 * frees of sampled blocks are not seen. */
#ifdef SW_SANITIZER_GATE
bool sw_sanitizer_follows_thread(void);
#else
static inline bool sw_sanitizer_follows_thread(void) { return true; }
#endif

#endif
