/* The control block `swheap attach`, `swheap detach` and `swheap scan` read and write from
 * outside the process (control.c; the protocol is swheap_attach.h). */
#ifndef SW_CONTROL_H
#define SW_CONTROL_H

#include "swheap_attach.h"

extern sw_attach_control swheap_attach_control;

#endif
