/* The one exported variable the injector finds by its symbol (swheap_attach.h): attach and
 * detach requests (attach.c), live scan requests (dumper.c), and what the shim answers. */
#include "sw_control.h"
#include "sw_os.h"

SW_EXPORT sw_attach_control swheap_attach_control = {.magic = SW_ATTACH_MAGIC, .protocol = SW_ATTACH_PROTOCOL};
