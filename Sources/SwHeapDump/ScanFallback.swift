// Why an exit scan fell back to the conservative scan, as the shim records it in the final
// dump's header (`scan_fallback`, SW_FALLBACK_* of swheap_format.h): shown by the report so
// that "conservative fallback" always comes with its cause; and why a final dump has no scan
// when its cost was over budget.

import CSwHeapFormat

public enum ScanFallback: Sendable, Hashable {
    case otherAllocator
    case noMemory
    case noSignal
    case threadDidNotStop(tid: UInt32?)
    case threadsKeptStarting
    case mapsUnreadable
    case heapNotUnderstood
    case sampledNotInHeap
    case arenaNotFound
    /// A live scan: the copy of the process that scans could not be made, or ended without
    /// verdicts.
    case copyFailed
    /// A live scan: the process runs under a seccomp filter, so it is not copied.
    case seccomp
    /// Not a fallback: the conservative scan would have read this many MiB, more than
    /// SWHEAP_SCAN_MAX_BYTES allows, so no scan ran (`DumpHeader.scanSkipped`).
    case overBudget(mebibytes: UInt32)
    /// A code this reader does not know (a newer shim).
    case unknown(UInt32)

    /// Nil for 0: no reason recorded (files from before it was, or no fallback).
    public init?(raw: UInt32) {
        let tid = raw >> 8
        switch raw & 0xFF {
        case 0: return nil
        case SW_FALLBACK_ALLOCATOR: self = .otherAllocator
        case SW_FALLBACK_MEMORY: self = .noMemory
        case SW_FALLBACK_SIGNAL: self = .noSignal
        case SW_FALLBACK_THREAD: self = .threadDidNotStop(tid: tid == 0 ? nil : tid)
        case SW_FALLBACK_THREADS: self = .threadsKeptStarting
        case SW_FALLBACK_MAPS: self = .mapsUnreadable
        case SW_FALLBACK_HEAP: self = .heapNotUnderstood
        case SW_FALLBACK_SAMPLED: self = .sampledNotInHeap
        case SW_FALLBACK_ARENA: self = .arenaNotFound
        case SW_FALLBACK_BUDGET: self = .overBudget(mebibytes: tid)
        case SW_FALLBACK_COPY: self = .copyFailed
        case SW_FALLBACK_SECCOMP: self = .seccomp
        default: self = .unknown(raw)
        }
    }

    /// The code the shim writes for it (what `init(raw:)` reads).
    public var raw: UInt32 {
        switch self {
        case .otherAllocator: SW_FALLBACK_ALLOCATOR
        case .noMemory: SW_FALLBACK_MEMORY
        case .noSignal: SW_FALLBACK_SIGNAL
        case .threadDidNotStop(let tid): SW_FALLBACK_THREAD | (tid ?? 0) << 8
        case .threadsKeptStarting: SW_FALLBACK_THREADS
        case .mapsUnreadable: SW_FALLBACK_MAPS
        case .heapNotUnderstood: SW_FALLBACK_HEAP
        case .sampledNotInHeap: SW_FALLBACK_SAMPLED
        case .arenaNotFound: SW_FALLBACK_ARENA
        case .copyFailed: SW_FALLBACK_COPY
        case .seccomp: SW_FALLBACK_SECCOMP
        case .overBudget(let mebibytes): SW_FALLBACK_BUDGET | mebibytes << 8
        case .unknown(let raw): raw
        }
    }

    /// One clause: what happened.
    public var description: String {
        switch self {
        case .otherAllocator: return "the allocator is not glibc's (jemalloc, tcmalloc, mimalloc): its chunks cannot be walked"
        case .noMemory: return "the scan could not map memory for itself"
        case .noSignal: return "no free real-time signal to stop the other threads with"
        case .threadDidNotStop(let tid):
            return "thread \(tid.map(String.init) ?? "?") did not stop within 1 s (it blocks signals and keeps running)"
        case .threadsKeptStarting: return "threads kept starting threads (or could not be listed) while being stopped"
        case .mapsUnreadable: return "/proc/self/maps could not be read"
        case .heapNotUnderstood: return "glibc's chunk headers were not understood (a heap layout the walker does not know, or a corrupted heap)"
        case .sampledNotInHeap: return "sampled objects were not where the chunk walk found chunks"
        case .arenaNotFound: return "glibc's main arena was not found in libc's data"
        case .copyFailed:
            return "the copy of the process that scans could not be made or ended without verdicts (a process limit, "
                + "or killed)"
        case .seccomp:
            return "the process runs under a seccomp filter, which may kill a process that forks, so it is not copied "
                + "to scan live (the exit scan still runs)"
        case .overBudget(let mebibytes):
            return "the conservative scan would read \(mebibytes) MiB of memory, more than SWHEAP_SCAN_MAX_BYTES "
                + "allows (default 256 MiB; raise it to scan)"
        case .unknown(let raw): return "reason \(raw & 0xFF) (a newer shim's)"
        }
    }
}

extension DumpHeader {
    /// Why this dump's exit scan fell back, when it did and the shim said.
    public var fallback: ScanFallback? {
        isScanned && !heapTraversed ? ScanFallback(raw: scanFallback) : nil
    }

    /// Why this final dump has no exit scan, when the shim skipped it over its memory budget.
    public var scanSkipped: ScanFallback? {
        guard isFinal, !isScanned, let reason = ScanFallback(raw: scanFallback), case .overBudget = reason else { return nil }
        return reason
    }
}

extension ScanHolder.Kind {
    /// From a SCAN holder record's kind (SW_HOLDER_*); nil for a code this reader does not know.
    public init?(code: UInt32) {
        switch code {
        case SW_HOLDER_GLOBAL: self = .global
        case SW_HOLDER_STACK: self = .stack
        case SW_HOLDER_TLS: self = .tls
        case SW_HOLDER_REGISTER: self = .register
        case SW_HOLDER_KEY: self = .pthreadKey
        default: return nil
        }
    }

    /// The code the shim writes.
    public var code: UInt32 {
        switch self {
        case .global: SW_HOLDER_GLOBAL
        case .stack: SW_HOLDER_STACK
        case .tls: SW_HOLDER_TLS
        case .register: SW_HOLDER_REGISTER
        case .pthreadKey: SW_HOLDER_KEY
        }
    }
}
