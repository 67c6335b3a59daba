/* One epoch's dump, from the live tables to a file (dump.c). */
#ifndef SW_DUMP_H
#define SW_DUMP_H

#include <stdbool.h>

bool sw_dump_write(bool final);
/* A fresh image or a forked child: epochs continue after those on disk for this pid. */
void sw_dump_reset(void);

#endif
