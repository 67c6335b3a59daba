/* Where glibc keeps a thread's pthread key values (scan_keys.c), so that a holder in a thread
 * descriptor can be named as the key it is. */
#ifndef SW_SCAN_KEYS_H
#define SW_SCAN_KEYS_H

#include <stdbool.h>
#include <stdint.h>

/* Learns, once per process, where the value of key 0 lies from the thread pointer: the
 * calling thread makes a key of its own, sets it, finds the value in its descriptor and deletes
 * the key. Takes the key lock: call it before any thread is stopped. false when it cannot tell. */
bool sw_keys_learn(void);

/* For a word at `address` in the descriptor of the thread whose thread pointer is `tp`: the
 * key whose value it is (keys 0-31, kept in the descriptor), or SW_HOLDER_KEY_BLOCK | the first
 * key of a block of 32 further keys it points to (swheap_format.h); false when it is neither, or
 * nothing was learnt. */
bool sw_key_at(uintptr_t tp, uintptr_t address, uint64_t *key);

#endif
