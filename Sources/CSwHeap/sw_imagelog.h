/* This process image's stack log (imagelog.c). */
#ifndef SW_IMAGELOG_H
#define SW_IMAGELOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A fresh image or a forked child: its log will be <pid>.<first_epoch>.log, started anew
 * (the parent's open log and what it held stay the parent's). */
void sw_imagelog_reset(uint32_t first_epoch);
/* Appends dump `epoch`'s chunk, first starting a new log named by `epoch` when the current
 * one grew past its first chunk by `rotate_at` bytes (0: never); on success the log's length
 * after it, its file name and its first epoch. */
bool sw_imagelog_append(uint32_t epoch, const char *modules, size_t modules_len, uint64_t rotate_at, uint64_t *length,
                        const char **name, size_t *name_len, uint32_t *log_first);

#endif
