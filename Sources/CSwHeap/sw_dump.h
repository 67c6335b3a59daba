/* One epoch's dump, from the live tables to a file (dump.c). */
#ifndef SW_DUMP_H
#define SW_DUMP_H

#include <stdbool.h>

/* `ask_allocator`: the MEMORY record may ask the allocator for its figures (sw_memory_take:
 * not where the interrupted code may hold the allocator's locks). */
bool sw_dump_write(bool final, bool ask_allocator);
/* A fresh image or a forked child: epochs continue after those on disk for this pid. */
void sw_dump_reset(void);
/* Dumps now go to another directory (a change of user, userdir.c): the next epoch starts a
 * new stack log there, and retention counts this image's files from it. */
void sw_dump_moved(void);

#endif
