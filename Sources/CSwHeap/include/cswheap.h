/* The core of the swheap shim, as one API: everything except the allocator entry points
 * (Sources/CSwHeapPreload/hooks.c). libswheap.so and the SwiftPM unit tests compile the
 * same files. None of this allocates with malloc: memory comes from mmap so the shim never
 * recurses into the allocator it watches. Nothing here runs unless called: no constructors,
 * no threads, no signal handlers until sw_lifecycle_start (shim.h) is called by the hooks. */
#ifndef CSWHEAP_H
#define CSWHEAP_H

#include "sw_os.h"
#include "sw_sampler.h"
#include "sw_live.h"
#include "sw_stacks.h"
#include "sw_buffer.h"
#include "sw_scan_conservative.h"
#include "sw_snapshot.h"
#include "sw_scan_maps.h"
#include "sw_scan_heap.h"
#include "sw_scan_threads.h"
#include "sw_encode.h"
#include "sw_deflate.h"
#include "sw_stacklog.h"
#include "sw_dumpfile.h"
#include "sw_census.h"

#endif
