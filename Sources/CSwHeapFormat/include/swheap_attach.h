/* The protocol between `swheap attach` / `swheap detach` (the injector, Sources/CSwHeapAttach)
 * and libswheap.so loaded into a running process (Sources/CSwHeapPreload/attach.c), defined
 * once. The shim exports one variable, `swheap_attach_control`, of this type; the injector
 * finds it at the library's load address plus the symbol's value in the file and reads or
 * writes it with process_vm_readv/process_vm_writev (which need the same permission as
 * ptrace). The injector calls one function, `swheap_attach(const char *settings)`, on a
 * thread it borrows (docs/ATTACH.md); detaching needs no stopped thread: the shim's control
 * thread sees `request` and puts everything back. `swheap scan` asks the writer thread for a
 * live scan the same way (`scan_request`), in a process attached or started under LD_PRELOAD. */
#ifndef SWHEAP_ATTACH_H
#define SWHEAP_ATTACH_H

#include <stdint.h>

#define SW_ATTACH_MAGIC 0x48435441u /* "ATCH" */
#define SW_ATTACH_PROTOCOL 2u

/* `state`, written by the shim only. */
#define SW_ATTACH_DORMANT 0u   /* loaded by dlopen, never attached (or not yet) */
#define SW_ATTACH_PRELOADED 1u /* started by LD_PRELOAD: profiling since start-up */
#define SW_ATTACH_STARTING 2u  /* swheap_attach ran; the control thread installs the hooks */
#define SW_ATTACH_ATTACHED 3u  /* hooks installed, dumps being written */
#define SW_ATTACH_DETACHING 4u /* detach asked: hooks being removed, last dump being written */
#define SW_ATTACH_DETACHED 5u  /* hooks removed, writer stopped; may be attached again */
#define SW_ATTACH_FAILED 6u    /* attach failed: `message` says why; the process runs on unprofiled */

/* `request`, written by the injector only. */
#define SW_ATTACH_REQUEST_NONE 0u
#define SW_ATTACH_REQUEST_DETACH 1u

#define SW_ATTACH_MESSAGE 480u
#define SW_ATTACH_DIR 4096u

typedef struct {
    uint32_t magic;    /* SW_ATTACH_MAGIC */
    uint32_t protocol; /* SW_ATTACH_PROTOCOL */
    uint32_t state;    /* SW_ATTACH_* */
    uint32_t request;  /* SW_ATTACH_REQUEST_* */
    uint32_t session;  /* attaches so far in this process (1 for the first) */
    uint32_t scan_request; /* written by `swheap scan` only: bumped to ask the writer for a live scan */
    uint64_t attached_wall_ns, detached_wall_ns; /* CLOCK_REALTIME */
    uint64_t heap_before_bytes;                  /* see sw_format_attach */
    uint32_t heap_before_known;
    uint32_t patched;  /* GOT entries pointing at the hooks */
    char message[SW_ATTACH_MESSAGE]; /* why attach failed, or a warning; NUL-terminated */
    char dir[SW_ATTACH_DIR];         /* the dump directory; NUL-terminated */
    /* The last live scan asked for, written by the shim once its dump is in place (or failed). */
    uint32_t scan_answered; /* the scan_request it answered */
    uint32_t scan_epoch;    /* the epoch whose dump carries it */
    uint32_t scan_done;     /* 1: verdicts were found; 0: see scan_fallback */
    uint32_t scan_fallback; /* SW_FALLBACK_* of swheap_format.h */
    uint32_t scan_listening; /* 1 while the writer thread runs (with SWHEAP_INTERVAL=0 there is none) */
    uint32_t scan_cpu_us;    /* the copy's CPU time */
    uint64_t scan_pause_ns, scan_duration_ns;
} sw_attach_control;

/* Loading the library and starting it are one call: the injector has a borrowed thread call
 * dlopen and leaves it at once, and the library's constructor, running on that thread, finds
 * this marker the injector wrote on the thread's stack above the call (below the signal
 * frame the thread returns through), and calls swheap_attach(settings) itself. */
#define SW_ATTACH_MARKER_MAGIC "swheap-attach-v1" /* 16 bytes, no terminator */
#define SW_ATTACH_MARKER_CHECK 0x5357484541505f31ull

typedef struct {
    char magic[16];
    uint64_t self;     /* the marker's own address */
    uint64_t settings; /* address of the settings string */
    uint64_t check;    /* self ^ settings ^ SW_ATTACH_MARKER_CHECK */
    uint64_t reserved;
} sw_attach_marker;

#if !defined(__cplusplus) && !defined(__swift__)
_Static_assert(sizeof(sw_attach_marker) == 48, "attach marker layout");
_Static_assert(sizeof(sw_attach_control) == 96 + SW_ATTACH_MESSAGE + SW_ATTACH_DIR, "attach control layout");
#endif

#endif
