/* The background writer and its triggers (dumper.c). */
#ifndef SW_DUMPER_H
#define SW_DUMPER_H

#include <stdbool.h>

void sw_dumper_init(void);
void sw_dumper_start(void);
/* Asks the writer for a dump soon; async-signal-safe. */
void sw_dumper_poke(void);
void sw_dumper_stop(void);
/* Writes one dump now, serialised with the writer thread; warns when it fails. After the
 * final dump, no other is written (it would reuse the final dump's epoch). `ask_allocator`
 * as for sw_dump_write. */
void sw_dumper_write(bool final, bool ask_allocator);
/* Holds the dump lock (no dump is written meanwhile), and lets it go. */
void sw_dumper_hold(void);
void sw_dumper_release(void);
/* A forked child: the writer thread did not survive fork; its lock and flags start fresh. */
void sw_dumper_postfork_child(void);

#endif
