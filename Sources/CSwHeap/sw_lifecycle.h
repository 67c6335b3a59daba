/* Start-up, exit and fork of the whole shim (lifecycle.c), called from the preload
 * library's constructor, destructor and exit hooks (never in the unit tests' process). */
#ifndef SW_LIFECYCLE_H
#define SW_LIFECYCLE_H

#include <stdbool.h>

void sw_lifecycle_start(void);
/* Profiling ends: no new samples, the writer stops, the exit dump (with the exit scan) is
 * written. From the library destructor (exit, return from main). */
void sw_lifecycle_finish(void);
/* The exit dump for _exit, _Exit and quick_exit; safe from a signal handler or vfork child. */
void sw_lifecycle_exit(void);
/* Profiling is on and this is the process it started in (not a vfork child sharing its
 * memory under another pid). */
bool sw_lifecycle_own_process(void);

#endif
