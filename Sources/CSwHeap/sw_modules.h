/* The loaded objects (modules.c), as the body of a MODULES section. */
#ifndef SW_MODULES_H
#define SW_MODULES_H

#include <stdbool.h>
#include <stdint.h>

#include "sw_buffer.h"

void sw_modules_write(sw_buffer *b);
/* The code range [lo, hi) of the module holding address `probe`; false when none does. */
bool sw_self_range(uintptr_t probe, uintptr_t *lo, uintptr_t *hi);

#endif
