/* The dump directory and its files (dumpfile.c). Every system call goes through sw_io, so
 * a unit test can make a write fail (ENOSPC), be interrupted (EINTR) or come up short. */
#ifndef SW_DUMPFILE_H
#define SW_DUMPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    int (*open)(const char *path, int flags, mode_t mode);
    ssize_t (*write)(int fd, const void *bytes, size_t len);
    ssize_t (*pwrite)(int fd, const void *bytes, size_t len, off_t offset);
    int (*close)(int fd);
    int (*rename)(const char *from, const char *to);
    int (*unlink)(const char *path);
    int (*mkdir)(const char *path, mode_t mode);
} sw_io_calls;
/* The system's own calls; tests swap entries and put them back (through sw_io_seam, a
 * pointer Swift can hold without naming a mutable global). */
extern sw_io_calls sw_io;
sw_io_calls *sw_io_seam(void);

/* Creates the directory and any missing parents (mode 0700); true when it is writable. */
bool sw_dumpfile_prepare(const char *dir);
/* One past the highest epoch already in dir for this pid, or 1. */
uint32_t sw_dumpfile_first_free_epoch(const char *dir);
/* Writes <dir>/<pid>.<epoch>.swheap atomically (temporary file, then rename). */
bool sw_dumpfile_write(const char *dir, const char *bytes, size_t len, uint32_t pid, uint32_t epoch);
/* The stack log's name <pid>.<first epoch, 6 digits>.log (no directory) into out (>= 40
 * bytes); its length. */
size_t sw_dumpfile_log_name(char *out, uint32_t pid, uint32_t first_epoch);
/* Creates (or empties) the image's stack log for reading and writing; -1 on failure. */
int sw_dumpfile_open_log(const char *dir, uint32_t pid, uint32_t first_epoch);
/* Deletes a log that holds no complete chunk (its first could not be written), or one no
 * kept epoch file names any more (retention); the bytes it held. */
uint64_t sw_dumpfile_remove_log(const char *dir, uint32_t pid, uint32_t first_epoch);
/* Deletes <dir>/<pid>.<epoch>.swheap (retention); the bytes it held, 0 when it was missing. */
uint64_t sw_dumpfile_remove(const char *dir, uint32_t pid, uint32_t epoch);

#endif
