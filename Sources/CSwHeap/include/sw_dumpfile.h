/* The dump directory and its files (dumpfile.c). Every system call goes through sw_io, so
 * a unit test can make a write fail (ENOSPC), be interrupted (EINTR) or come up short. Files
 * are reached through the directory's descriptor (the *at calls), never its path. */
#ifndef SW_DUMPFILE_H
#define SW_DUMPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    int (*open)(int dir, const char *name, int flags, mode_t mode);
    ssize_t (*write)(int fd, const void *bytes, size_t len);
    ssize_t (*pwrite)(int fd, const void *bytes, size_t len, off_t offset);
    int (*close)(int fd);
    int (*rename)(int from_dir, const char *from, int to_dir, const char *to);
    int (*unlink)(int dir, const char *name, int flags);
    int (*mkdir)(const char *path, mode_t mode);
} sw_io_calls;
/* The system's own calls; tests swap entries and put them back (through sw_io_seam, a
 * pointer Swift can hold without naming a mutable global). */
extern sw_io_calls sw_io;
sw_io_calls *sw_io_seam(void);

/* Creates the directory and any missing parents (mode 0700) and holds it open as the
 * directory dumps go to; true when it is usable. */
bool sw_dumpfile_prepare(const char *dir);
/* The errno of the last failure here (a write, a rename, a directory that went away). */
int sw_dumpfile_error(void);
void sw_dumpfile_note_error(int err);
/* Where dumps go now, for messages: SWHEAP_DIR, or its per-user subdirectory. */
const char *sw_dumpfile_path(void);
/* The owner of where dumps go now, and of SWHEAP_DIR itself. */
uid_t sw_dumpfile_owner(void);
uid_t sw_dumpfile_base_owner(void);
/* SWHEAP_DIR's descriptor (checked), or -1. */
int sw_dumpfile_base_fd(void);
/* From now on dumps go to `fd`, the subdirectory `name` of SWHEAP_DIR (taken over, closed on
 * failure), or with name NULL back to SWHEAP_DIR itself. */
bool sw_dumpfile_use(int fd, const char *name);
/* One past the highest epoch already in the directory for this pid, or 1. */
uint32_t sw_dumpfile_first_free_epoch(void);
/* Writes <pid>.<epoch>.swheap atomically (temporary file, then rename). */
bool sw_dumpfile_write(const char *bytes, size_t len, uint32_t pid, uint32_t epoch);
/* The stack log's name <pid>.<first epoch, 6 digits>.log (no directory) into out (>= 40
 * bytes); its length. */
size_t sw_dumpfile_log_name(char *out, uint32_t pid, uint32_t first_epoch);
/* Creates (or empties) the image's stack log for reading and writing; -1 on failure. */
int sw_dumpfile_open_log(uint32_t pid, uint32_t first_epoch);
/* Deletes a log that holds no complete chunk (its first could not be written), or one no
 * kept epoch file names any more (retention); the bytes it held. */
uint64_t sw_dumpfile_remove_log(uint32_t pid, uint32_t first_epoch);
/* Deletes <pid>.<epoch>.swheap (retention); the bytes it held, 0 when it was missing. */
uint64_t sw_dumpfile_remove(uint32_t pid, uint32_t epoch);

#endif
