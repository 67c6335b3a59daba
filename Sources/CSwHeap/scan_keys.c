/* pthread key values in glibc's thread descriptor (sw_scan_keys.h): struct pthread holds
 * specific_1stblock[32] ({seq, data} pairs: keys 0-31), then specific[32], pointers to blocks
 * of 32 more pairs (heap blocks, allocated as keys above 31 are set). Their place in the
 * descriptor is glibc's own; it is found by setting a key of the shim's own to two values in
 * turn and looking for both at one place in the calling thread's descriptor. */
#define _GNU_SOURCE
#include "sw_scan_keys.h"
#include "sw_scan_read.h"
#include "sw_scan_threads.h"
#include "swheap_format.h"

#include <pthread.h>

enum { FIRST_KEYS = 32, PAIR = 16, SEARCH = 4096 };

static int state;          /* 0 not tried, 1 learnt, -1 cannot tell */
static intptr_t key0_data; /* the value of key 0 lies at tp + key0_data */

/* Where the word `value` lies in the calling thread's descriptor, from tp (x86-64: the
 * descriptor starts at the thread pointer; elsewhere it ends there); false unless once. */
static bool find(uintptr_t tp, uintptr_t value, intptr_t *at) {
    static uintptr_t words[SEARCH / sizeof(uintptr_t)];
#if defined(__x86_64__)
    uintptr_t from = tp;
#else
    uintptr_t from = tp - SEARCH;
#endif
    ssize_t got = sw_scan_read(words, from, sizeof words); /* a short read where the mapping ends */
    int found = 0;
    for (size_t i = 0; got > 0 && i < (size_t)got / sizeof *words; i++)
        if (words[i] == value) *at = (intptr_t)(from - tp) + (intptr_t)(i * sizeof *words), found++;
    return found == 1;
}

bool sw_keys_learn(void) {
    if (state) return state > 0;
    state = -1;
    pthread_key_t key;
    if (pthread_key_create(&key, NULL) != 0) return false;
    uintptr_t tp = sw_thread_pointer(), first = (uintptr_t)&state ^ 0x5e17a11u, second = first ^ 0xff00ff00u;
    intptr_t a = 0, b = 0;
    /* a key above 31 would make glibc allocate its block: only the first ones are tried */
    if (key < FIRST_KEYS && pthread_setspecific(key, (void *)first) == 0 && find(tp, first, &a) &&
        pthread_setspecific(key, (void *)second) == 0 && find(tp, second, &b) && a == b) {
        key0_data = a - (intptr_t)key * PAIR;
        state = 1;
    }
    if (key < FIRST_KEYS) pthread_setspecific(key, NULL);
    pthread_key_delete(key);
    return state > 0;
}

bool sw_key_at(uintptr_t tp, uintptr_t address, uint64_t *key) {
    if (state <= 0) return false;
    intptr_t rel = (intptr_t)(address - tp) - key0_data;
    if (rel >= 0 && rel < FIRST_KEYS * PAIR && rel % PAIR == 0) {
        *key = (uint64_t)(rel / PAIR);
        return true;
    }
    /* specific[1..31] follow the pairs; specific[0] is the pairs themselves */
    intptr_t level = rel + PAIR / 2 - FIRST_KEYS * PAIR; /* from specific[0] */
    if (level < 8 || level >= FIRST_KEYS * 8 || level % 8) return false;
    *key = SW_HOLDER_KEY_BLOCK | (uint64_t)(level / 8 * FIRST_KEYS);
    return true;
}
