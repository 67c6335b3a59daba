// Which process of a dump directory a single-process command (pprof, flamegraph, diff) works
// on: --pid, or the first process (the parent), naming the others on stderr.

import SwHeapOutput
import SwHeapStore
import SwHeapSystem

enum ProcessChoice {
    static func choose(pid: Int32?, in store: HeapStore, verb: String) throws -> ProcessHeap {
        let (process, note) = try choice(pid: pid, in: store, verb: verb)
        if let note { writeToStandardError(note) }
        return process
    }

    /// The process and the note naming the others, for a command that says it only once its
    /// work succeeded (so that a failure stays a one-line error).
    static func choice(pid: Int32?, in store: HeapStore, verb: String) throws -> (ProcessHeap, note: String?) {
        let pids = store.processes.map(\.pid)
        if let pid {
            guard let process = store.process(pid: pid) else {
                throw PprofError.unknownPID(pid: pid, available: pids)
            }
            return (process, nil)
        }
        guard let first = store.processes.first else {
            throw CommandFailure(message: "no processes in \(store.directory)")
        }
        guard pids.count > 1 else { return (first, nil) }
        let others = pids.dropFirst().map(String.init).joined(separator: ", ")
        return (first, "swheap: \(verb) pid \(first.pid); the directory also has pids \(others) (choose with --pid)\n")
    }
}
