/* The swheap dump format, defined once: the shim writes it (Sources/CSwHeap/encode.c), the
 * Swift reader and test writer read these constants through the CSwHeapFormat module, and
 * docs/FORMAT.md describes it in prose. All integers little-endian; f64 is IEEE-754.
 *
 * Constants are plain macros with unsigned literals so that Swift imports them as UInt32
 * and C can use them in case labels and static assertions. */
#ifndef SWHEAP_FORMAT_H
#define SWHEAP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define SW_FORMAT_MAGIC "SWHEAPD1" /* 8 bytes, no terminator in the file */
#define SW_FORMAT_MAGIC_SIZE 8u
#define SW_FORMAT_VERSION 1u

/* Header flags. */
#define SW_FLAG_FINAL 1u     /* written at exit */
#define SW_FLAG_SCANNED 2u   /* unreferenced figures are valid */
#define SW_FLAG_TRUNCATED 4u /* a table of the shim was full: figures are lower bounds */
#define SW_FLAG_REACHABILITY 8u /* with SCANNED: the heap was traversed from the roots (LeakSanitizer's
                                 * semantics); without it the scan was the conservative fallback */

/* Section tags. */
#define SW_TAG_EXE 1u
#define SW_TAG_CMDLINE 2u
#define SW_TAG_MODULES 3u
#define SW_TAG_STACKS 4u
#define SW_TAG_LIVE 5u
#define SW_TAG_END 0xFFFFFFFFu

/* The fixed header at offset 0. */
typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t flags;
    uint32_t pid;
    uint32_t parent_pid;
    uint64_t epoch;
    uint64_t wall_ns;       /* CLOCK_REALTIME */
    uint64_t monotonic_ns;  /* CLOCK_MONOTONIC */
    uint64_t start_ns;      /* CLOCK_MONOTONIC when the shim started in this process */
    uint64_t rate;          /* mean bytes between samples; 1 = every allocation */
    uint32_t max_depth;
    uint32_t reserved;
} sw_format_header;

/* Before every section body. */
typedef struct {
    uint32_t tag;
    uint32_t reserved;
    uint64_t length; /* body bytes */
} sw_format_section;

/* MODULES: per PT_LOAD segment of a module. */
typedef struct {
    uint64_t start, end, file_offset;
    uint32_t flags; /* ELF p_flags */
    uint32_t reserved;
} sw_format_segment;

/* MODULES: the smallest module record (bias, two empty strings, segment count). */
#define SW_FORMAT_MODULE_MINIMUM 20u

/* STACKS: per stack, followed by depth u64 return addresses. */
typedef struct {
    uint32_t stack_id;
    uint32_t depth;
    double alloc_objects;
    double alloc_bytes;
} sw_format_stack;

/* LIVE: per (stack, birth epoch) bucket. */
typedef struct {
    uint32_t stack_id;
    uint32_t birth_epoch;
    double live_objects, live_bytes;
    double unref_objects, unref_bytes;
} sw_format_live;

/* Bounds every field obeys (the shim enforces them when it reads its settings, the reader
 * rejects a file that breaks one). */
#define SW_FORMAT_MAX_DEPTH 128u                /* frames in one stack */
#define SW_FORMAT_MAX_RATE 1099511627776ull     /* 1 TiB between samples */
#define SW_FORMAT_MAX_ESTIMATE 18446744073709551616.0 /* 2^64: any object or byte estimate */

#define SW_FORMAT_HEADER_SIZE 72u
#define SW_FORMAT_SECTION_SIZE 16u
#define SW_FORMAT_SEGMENT_SIZE 32u
#define SW_FORMAT_STACK_SIZE 24u
#define SW_FORMAT_LIVE_SIZE 40u

#if !defined(__cplusplus) && !defined(__swift__)
_Static_assert(sizeof(sw_format_header) == SW_FORMAT_HEADER_SIZE, "header layout");
_Static_assert(offsetof(sw_format_header, epoch) == 24, "header layout");
_Static_assert(offsetof(sw_format_header, start_ns) == 48, "header layout");
_Static_assert(offsetof(sw_format_header, max_depth) == 64, "header layout");
_Static_assert(sizeof(sw_format_section) == SW_FORMAT_SECTION_SIZE, "section layout");
_Static_assert(sizeof(sw_format_segment) == SW_FORMAT_SEGMENT_SIZE, "segment layout");
_Static_assert(sizeof(sw_format_stack) == SW_FORMAT_STACK_SIZE, "stack layout");
_Static_assert(sizeof(sw_format_live) == SW_FORMAT_LIVE_SIZE, "live layout");
_Static_assert(sizeof(SW_FORMAT_MAGIC) - 1 == SW_FORMAT_MAGIC_SIZE, "magic");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the format is little-endian, written in host order");
#endif

#endif
