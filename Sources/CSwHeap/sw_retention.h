/* SWHEAP_KEEP (retention.c). */
#ifndef SW_RETENTION_H
#define SW_RETENTION_H

#include <stdint.h>

/* A fresh image or a forked child: its epochs start at first_epoch, nothing thinned yet. */
void sw_retention_reset(uint32_t first_epoch);
/* The policy's `recent` for SWHEAP_KEEP=keep: max(2, keep / 16). */
uint64_t sw_retention_recent(uint64_t keep);
/* After epoch `newest` is in place: deletes this image's epoch files the policy drops. */
void sw_retention_apply(uint32_t newest);

#endif
