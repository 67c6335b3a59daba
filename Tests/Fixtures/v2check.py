#!/usr/bin/env python3
"""An independent reader of format v2 (docs/FORMAT.md), for the shim's integration tests:
   v2check.py DIR   -> one JSON object on stdout: per epoch file, what it and its log hold.
Every epoch file must be complete and stand alone with its log up to the length it names:
each cohort's stack in the log, modules logged, the birth cohorts as sw_cohort_of gives them;
its MEMORY record, when there is one, of a known version and size, with no figure that was
not taken, and a sampled heap that is the COHORTS total; its SCAN section, when there is one,
a scan of this epoch or an earlier one, its stacks and holders sorted and in the log.
Any violation: one line on stderr and exit status 1. Written from FORMAT.md, not from the
shim's code, so the two can disagree."""
import json, os, re, struct, sys, zlib

HEADER = struct.Struct("<8sIIIIQQQQQII")  # 72 bytes
SECTION = struct.Struct("<IIQ")
LOG_HEADER = struct.Struct("<8sIIQQ")
CHUNK = struct.Struct("<IIQQ")
COHORT = struct.Struct("<IIIIdddd")
ALLOC = struct.Struct("<IIdd")
THREADS = struct.Struct("<IIIII")  # tasks, before profiling, untracked, flags, count
THREAD_SITE = struct.Struct("<IIQQQQQ")
TAG_EXE, TAG_CMDLINE, TAG_MODULES, TAG_STACKS, TAG_LIVE, TAG_LOG, TAG_COHORTS, TAG_ALLOC, TAG_END = 1, 2, 3, 4, 5, 6, 7, 8, 0xFFFFFFFF
TAG_THREADS = 9
TAG_MEMORY = 10
TAG_SCAN = 12
# SCAN: began at, pause, duration (ns), flags, fallback, epoch, CPU us (40 bytes); then u32 count
# and COHORTS-shaped records (birth 0); then u32 count and holders: stack, kind, tid, depth, address,
# context; then u32 count and path steps: stack, index, block stack, reserved, address, size,
# offset; then u32 count and components: stack, component.
SCAN = struct.Struct("<QQQIIII")
HOLDER = struct.Struct("<IIIIQQ")
STEP = struct.Struct("<IIIIQQQ")
COMPONENT = struct.Struct("<II")
SCAN_LIVE, SCAN_ASKED, SCAN_DONE = 1, 2, 4
FLAG_SCANNED = 2
# MEMORY version 1: version, size, allocator, valid, rss, file, anon, in use, free, held,
# arenas, reserved, allocator ns, sampled live bytes, 8 allocator figures (152 bytes).
MEMORY = struct.Struct("<IIII6QIIQd8Q")
MEMORY_FIELDS = [("rss_bytes", 1), ("file_bytes", 1), ("anon_bytes", 2), ("in_use_bytes", 4), ("free_bytes", 8),
                 ("held_bytes", 16)]
ALLOCATORS = ["unknown", "glibc", "jemalloc", "tcmalloc", "mimalloc"]
FLAG_DEFLATED, LOG_FLAG_DEFLATED = 16, 1


def fail(msg):
    print(f"v2check: {msg}", file=sys.stderr)
    sys.exit(1)


def sections(body, where):
    out, at = [], 0
    while at < len(body):
        if at + SECTION.size > len(body):
            fail(f"{where}: section header cut at {at}")
        tag, reserved, length = SECTION.unpack_from(body, at)
        at += SECTION.size
        if at + length > len(body):
            fail(f"{where}: section {tag} runs past the end")
        out.append((tag, body[at:at + length]))
        at += length
    if not out or out[-1][0] != TAG_END:
        fail(f"{where}: does not end with END")
    return out


def cohort_of(birth, epoch, detail=4):
    size, nxt = 1, 2
    while nxt <= 1 << 31:
        end = ((birth - 1) // nxt + 1) * nxt
        if end + detail * nxt > epoch:
            break
        size, nxt = nxt, nxt * 2
    start = (birth - 1) // size * size + 1
    return start, start + size - 1


class Log:
    """One stack log, parsed once: its chunks up to the last complete one (a torn tail, left
    by a process killed mid-write, is not read), then replayed up to any length asked."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            data = f.read()
        magic, version, self.pid, self.start_ns, _ = LOG_HEADER.unpack_from(data, 0)
        if magic != b"SWHEAPL2" or version != 2:
            fail(f"{path}: not a v2 stack log")
        self.chunks, at = [], LOG_HEADER.size  # (end offset, epoch, sections)
        while at + CHUNK.size <= len(data):
            epoch, flags, raw, stored = CHUNK.unpack_from(data, at)
            if at + CHUNK.size + stored > len(data):
                break
            body = data[at + CHUNK.size:at + CHUNK.size + stored]
            try:
                if flags & LOG_FLAG_DEFLATED:
                    body = zlib.decompress(body)
            except zlib.error:
                break
            if len(body) != raw:
                break
            at += CHUNK.size + stored
            self.chunks.append((at, epoch, body))
        self.ends = {end: i for i, (end, _, _) in enumerate(self.chunks)}
        self.applied, self.stacks, self.alloc, self.modules = 0, {}, {}, None

    def up_to(self, length):
        """The state after the chunk ending at `length` (asked in increasing order)."""
        if length not in self.ends:
            fail(f"{self.path}: no complete chunk ends at {length}")
        last = self.ends[length]
        if last + 1 < self.applied:
            fail(f"{self.path}: lengths asked out of order")
        for end, epoch, body in self.chunks[self.applied:last + 1]:
            for tag, b in sections(body, f"{self.path} chunk {epoch}"):
                if tag == TAG_STACKS:
                    (n,), o = struct.unpack_from("<I", b, 0), 4
                    for _ in range(n):
                        sid, depth = struct.unpack_from("<II", b, o)
                        o += 8
                        if sid in self.stacks:
                            fail(f"{self.path}: stack {sid} logged twice")
                        self.stacks[sid] = struct.unpack_from(f"<{depth}Q", b, o)
                        o += 8 * depth
                    if o != len(b):
                        fail(f"{self.path}: STACKS of chunk {epoch} has {len(b) - o} bytes left over")
                elif tag == TAG_MODULES:
                    self.modules = struct.unpack_from("<I", b, 0)[0]
                elif tag == TAG_ALLOC:
                    (n,) = struct.unpack_from("<I", b, 0)
                    if len(b) != 4 + n * ALLOC.size:
                        fail(f"{self.path}: ALLOC of chunk {epoch} has the wrong length")
                    for i in range(n):
                        sid, _, objects, nbytes = ALLOC.unpack_from(b, 4 + i * ALLOC.size)
                        if sid not in self.stacks:
                            fail(f"{self.path}: ALLOC names stack {sid} before it is logged")
                        self.alloc[sid] = (objects, nbytes)
        self.applied = last + 1
        if self.modules is None:
            fail(f"{self.path}: no MODULES up to {length}")
        return self.chunks[last][1]


def read_epoch(directory, name, logs):
    path = os.path.join(directory, name)
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < HEADER.size:
        fail(f"{path}: shorter than a header")
    magic, version, flags, pid, ppid, epoch, wall, mono, start, rate, depth, _ = HEADER.unpack_from(data, 0)
    if magic != b"SWHEAPD1" or version != 2:
        fail(f"{path}: not a v2 epoch file")
    body = data[HEADER.size:]
    if flags & FLAG_DEFLATED:
        try:
            body = zlib.decompress(body)
        except zlib.error as e:
            fail(f"{path}: body does not inflate: {e}")
    order = [tag for tag, _ in sections(body, path)]
    secs = dict(sections(body, path))
    if set(secs) - {TAG_THREADS, TAG_MEMORY, TAG_SCAN} != {TAG_EXE, TAG_CMDLINE, TAG_LOG, TAG_COHORTS, TAG_END}:
        fail(f"{path}: sections {sorted(secs)}")
    log_length, name_len = struct.unpack_from("<QI", secs[TAG_LOG], 0)
    log_name = secs[TAG_LOG][12:12 + name_len].decode()
    if log_name not in logs:
        logs[log_name] = Log(os.path.join(directory, log_name))
    log = logs[log_name]
    if log.up_to(log_length) != epoch:
        fail(f"{path}: the log's chunk ending at {log_length} is not epoch {epoch}'s")
    if log.pid != pid or log.start_ns != start:
        fail(f"{path}: the log belongs to another image")
    cb = secs[TAG_COHORTS]
    (n,) = struct.unpack_from("<I", cb, 0)
    if len(cb) != 4 + n * COHORT.size:
        fail(f"{path}: COHORTS has the wrong length")
    live_objects = live_bytes = unref_bytes = 0.0
    cohorts, keys = [], []
    for i in range(n):
        sid, first, last, _, lo, lb, uo, ub = COHORT.unpack_from(cb, 4 + i * COHORT.size)
        if sid not in log.stacks:
            fail(f"{path}: cohort of stack {sid}, which its log does not hold")
        if not (1 <= first <= last <= epoch) or cohort_of(first, epoch) != (first, last):
            fail(f"{path}: cohort {first}..{last} is not sw_cohort_of's at epoch {epoch}")
        if (sid, first) in keys:
            fail(f"{path}: cohort {sid}/{first} twice")
        keys.append((sid, first))
        live_objects += lo
        live_bytes += lb
        unref_bytes += ub
        cohorts.append([sid, first, last, lo, lb])
    if keys != sorted(keys):
        fail(f"{path}: cohorts not sorted by stack and birth")
    threads = read_threads(secs[TAG_THREADS], path, log) if TAG_THREADS in secs else None
    memory = read_memory(path, secs[TAG_MEMORY], live_bytes) if TAG_MEMORY in secs else None
    scan = read_scan(path, secs[TAG_SCAN], epoch, flags, log) if TAG_SCAN in secs else None
    return {"file": name, "pid": pid, "epoch": epoch, "flags": flags, "rate": rate, "log": log_name,
            "log_length": log_length, "stacks": len(log.stacks), "modules": log.modules,
            "alloc_objects": sum(v[0] for v in log.alloc.values()),
            "alloc_bytes": sum(v[1] for v in log.alloc.values()),
            "live_objects": live_objects, "live_bytes": live_bytes, "unref_bytes": unref_bytes,
            "cohorts": cohorts, "threads": threads, "memory": memory, "scan": scan}


def read_scan(path, body, epoch, flags, log):
    """SCAN (optional): the latest scan with verdicts, carried, or a failed try."""
    if len(body) < SCAN.size + 4:
        fail(f"{path}: SCAN shorter than its record")
    wall, pause, duration, scan_flags, fallback, scan_epoch, cpu_us = SCAN.unpack_from(body, 0)
    done = bool(scan_flags & SCAN_DONE)
    if scan_flags & ~7 or scan_epoch > epoch or pause > duration:
        fail(f"{path}: SCAN flags {scan_flags}, epoch {scan_epoch} of {epoch}, pause {pause} of {duration}")
    if scan_epoch == epoch and done != bool(flags & FLAG_SCANNED):
        fail(f"{path}: SCAN of this epoch done={done}, header scanned={bool(flags & FLAG_SCANNED)}")
    at = SCAN.size
    (n,) = struct.unpack_from("<I", body, at)
    at += 4
    sites = []
    for i in range(n):
        sid, first, last, _, lo, lb, uo, ub = COHORT.unpack_from(body, at)
        at += COHORT.size
        if first or last or sid not in log.stacks or not (0 <= uo <= lo and 0 <= ub <= lb):
            fail(f"{path}: SCAN stack record {i} (stack {sid}) is not one of its log's, or its figures disagree")
        sites.append([sid, lo, lb, uo, ub])
    (m,) = struct.unpack_from("<I", body, at)
    at += 4
    holders = []
    for i in range(m):
        sid, kind, tid, depth, address, context = HOLDER.unpack_from(body, at)
        at += HOLDER.size
        if sid not in log.stacks or not 1 <= kind <= 5 or (kind == 1) != (tid == 0) or (kind == 1 and context):
            fail(f"{path}: SCAN holder {i} (stack {sid}, kind {kind}, thread {tid}, context {context:#x})")
        holders.append([sid, kind, tid, depth, address, context, []])
    by_stack = {h[0]: h for h in holders}
    (k,) = struct.unpack_from("<I", body, at)
    at += 4
    for i in range(k):
        sid, index, block_stack, reserved, address, size, offset = STEP.unpack_from(body, at)
        at += STEP.size
        holder = by_stack.get(sid)
        steps = holder[6] if holder else None
        if (holder is None or reserved or index >= holder[3] or (block_stack and block_stack not in log.stacks)
                or (offset >= max(size, 8) and offset != 2**64 - 1) or (steps and steps[-1][0] >= index)):
            fail(f"{path}: SCAN step {i} (stack {sid}, index {index}, block stack {block_stack}, offset {offset} of {size})")
        steps.append([index, block_stack, address, size, offset])
    for h in holders:
        if len(h[6]) != min(h[3], 8):
            fail(f"{path}: SCAN holder of stack {h[0]}: {len(h[6])} steps for {h[3]} blocks between")
    (c,) = struct.unpack_from("<I", body, at)
    at += 4
    components = []
    for i in range(c):
        sid, component = COMPONENT.unpack_from(body, at)
        at += COMPONENT.size
        if sid not in log.stacks or (components and (components[-1][0], components[-1][1]) >= (sid, component)):
            fail(f"{path}: SCAN component {i} (stack {sid}, component {component}) unknown or out of order")
        components.append([sid, component])
    if at != len(body):
        fail(f"{path}: SCAN has {len(body) - at} bytes after its components")
    if [s[0] for s in sites] != sorted({s[0] for s in sites}) or [h[0] for h in holders] != sorted({h[0] for h in holders}):
        fail(f"{path}: SCAN stacks or holders not sorted by stack id")
    if not done and (sites or holders or components):
        fail(f"{path}: a failed SCAN with stacks")
    return {"epoch": scan_epoch, "live": bool(scan_flags & SCAN_LIVE), "asked": bool(scan_flags & SCAN_ASKED),
            "done": done, "fallback": fallback, "cpu_us": cpu_us, "sites": sites, "holders": holders,
            "components": components}


def read_threads(tb, path, log):
    """THREADS (optional): the census's fixed part, then the sites sorted by stack id."""
    if len(tb) < THREADS.size:
        fail(f"{path}: THREADS shorter than its fixed part")
    tasks, before, untracked, flags, n = THREADS.unpack_from(tb, 0)
    if len(tb) != THREADS.size + n * THREAD_SITE.size:
        fail(f"{path}: THREADS has the wrong length")
    if flags & ~1 or untracked > tasks:
        fail(f"{path}: THREADS flags {flags} or untracked {untracked} > tasks {tasks}")
    sites, previous = [], None
    for i in range(n):
        sid, _, running, unjoined, gone, stack_bytes, unjoined_bytes = THREAD_SITE.unpack_from(tb, THREADS.size + i * THREAD_SITE.size)
        if previous is not None and sid <= previous:
            fail(f"{path}: THREADS sites not sorted by stack id")
        previous = sid
        if sid != 0 and sid not in log.stacks:
            fail(f"{path}: thread site of stack {sid}, which its log does not hold")
        if (running + unjoined == 0 and stack_bytes) or unjoined_bytes > stack_bytes or (unjoined == 0 and unjoined_bytes):
            fail(f"{path}: THREADS site {sid} holds bytes without threads")
        sites.append([sid, running, unjoined, gone, stack_bytes, unjoined_bytes])
    return {"tasks": tasks, "before_profiling": before, "untracked": untracked, "flags": flags, "sites": sites}




def read_memory(path, body, live_bytes):
    if len(body) < 8:
        fail(f"{path}: MEMORY shorter than its version and size")
    version, size = struct.unpack_from("<II", body, 0)
    if version < 1 or size != len(body) or size < MEMORY.size:
        fail(f"{path}: MEMORY version {version}, size {size} in {len(body)} bytes")
    fields = MEMORY.unpack_from(body, 0)
    allocator, valid = fields[2], fields[3]
    if version == 1 and (valid & ~511 or allocator >= len(ALLOCATORS)):
        fail(f"{path}: MEMORY valid 0x{valid:x}, allocator {allocator}")
    values = dict(zip([name for name, _ in MEMORY_FIELDS], fields[4:10]))
    for name, bit in MEMORY_FIELDS:
        if not valid & bit:
            if values[name]:
                fail(f"{path}: MEMORY {name} set without its valid bit")
            values[name] = None
    arenas = fields[10] if valid & 32 else None
    if arenas is None and fields[10]:
        fail(f"{path}: MEMORY arenas set without its valid bit")
    sampled = fields[13]
    if abs(sampled - live_bytes) > 1e-6 * max(1.0, live_bytes):
        fail(f"{path}: MEMORY sampled heap {sampled} is not the COHORTS total {live_bytes}")
    return dict(values, version=version, allocator=ALLOCATORS[allocator] if allocator < len(ALLOCATORS) else "unknown",
                valid=valid, arenas=arenas, allocator_ns=fields[12], sampled_live_bytes=sampled,
                raw=list(fields[14:22]) if valid & 64 else None)


def main():
    if len(sys.argv) != 2:
        fail("usage: v2check.py DIR")
    directory = sys.argv[1]
    names = sorted((n for n in os.listdir(directory) if re.fullmatch(r"\d+\.\d{6}\.swheap", n)),
                   key=lambda n: (int(n.split(".")[0]), int(n.split(".")[1])))
    logs = {}
    epochs = [read_epoch(directory, n, logs) for n in names]
    print(json.dumps({"epochs": epochs, "logs": sorted(n for n in os.listdir(directory) if n.endswith(".log"))}))


main()
