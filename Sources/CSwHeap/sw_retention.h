/* SWHEAP_KEEP and the disk budget SWHEAP_MAX_BYTES (retention.c). */
#ifndef SW_RETENTION_H
#define SW_RETENTION_H

#include <stdint.h>

/* A fresh image or a forked child: its epochs start at first_epoch, nothing thinned yet. */
void sw_retention_reset(uint32_t first_epoch);
/* The policy's `recent` for SWHEAP_KEEP=keep: max(2, keep / 16). */
uint64_t sw_retention_recent(uint64_t keep);
/* How far the stack log may grow past its first chunk before a new log is started
 * (max_bytes / SW_LOG_ROTATE_SHARE); 0: never (everything is kept, or too many logs). */
uint64_t sw_retention_rotate_at(void);
/* After epoch `newest` (a file of `file_bytes`) is in place, naming the log whose first epoch
 * is `log_first`, now `log_bytes` long: deletes this image's epoch files the policy drops and
 * the logs no kept epoch names; over the budget, halves the policy's `recent` until the files
 * fit, saying so once on stderr. */
void sw_retention_apply(uint32_t newest, uint64_t file_bytes, uint32_t log_first, uint64_t log_bytes);
/* This image's epoch files and logs on disk, as retention counts them; `recent` now. */
uint64_t sw_retention_bytes(void);
uint64_t sw_retention_recent_now(void);

#endif
