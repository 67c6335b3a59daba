/* This process's mappings, parsed from /proc/self/maps with raw reads (scan_maps.c). */
#ifndef SW_SCAN_MAPS_H
#define SW_SCAN_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { SW_MAP_ANON, SW_MAP_FILE, SW_MAP_HEAP, SW_MAP_STACK, SW_MAP_SPECIAL } sw_map_kind;

typedef struct {
    uintptr_t lo, hi;
    bool readable, writable, executable;
    sw_map_kind kind;
} sw_mapping;

typedef struct {
    sw_mapping *maps; /* sorted by address, as the kernel lists them */
    size_t n;
    size_t bytes;     /* of the mapping that holds `maps` */
} sw_map_list;

/* false when /proc/self/maps cannot be read or memory ran out. */
bool sw_maps_read(sw_map_list *list);
void sw_maps_free(sw_map_list *list);
/* The mapping containing address a, or NULL. */
const sw_mapping *sw_maps_find(const sw_map_list *list, uintptr_t a);
/* Parses one listing (the unit tests hand in their own text); false when it is malformed. */
bool sw_maps_parse(sw_map_list *list, const char *text, size_t len);

#endif
