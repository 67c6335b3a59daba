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

/* Whether this library was preloaded (LD_PRELOAD) rather than loaded later by dlopen. */
bool sw_lifecycle_preloaded(void);
/* Attach mode (Sources/CSwHeapPreload/attach.c), with sw.config set: prepare everything but
 * the hooks (false, *why set, when the process must run on unprofiled); then, once the hooks
 * are installed, open the state and start the writer; at detach, after the hooks are put
 * back, close the state, stop the writer and write one last dump. */
bool sw_lifecycle_attach(const char **why);
void sw_lifecycle_attached(void);
void sw_lifecycle_detach(void);

#endif
