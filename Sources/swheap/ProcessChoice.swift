// Which process of a dump directory a single-process command (pprof, flamegraph, diff) works
// on: --pid, or the first process (the parent), naming the others on stderr.

import SwHeapOutput
import SwHeapStore
import SwHeapSystem

enum ProcessChoice {
    static func choose(pid: Int32?, in store: HeapStore, verb: String) throws -> ProcessHeap {
        let pids = store.processes.map(\.pid)
        if let pid {
            guard let process = store.process(pid: pid) else {
                throw PprofError.unknownPID(pid: pid, available: pids)
            }
            return process
        }
        guard let first = store.processes.first else {
            throw CommandFailure(message: "no processes in \(store.directory)")
        }
        if pids.count > 1 {
            let others = pids.dropFirst().map(String.init).joined(separator: ", ")
            writeToStandardError("swheap: \(verb) pid \(first.pid); the directory also has pids \(others) (choose with --pid)\n")
        }
        return first
    }
}
