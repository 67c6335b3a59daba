// `swheap dumps`: one line per dump of every process, to see what a run recorded at a glance.

import SwHeapDump
import SwHeapStore

public enum DumpListing {
    /// The table: numbers right-aligned, flags last.
    public static func render(_ store: HeapStore) -> String {
        var rows = [["PID", "EPOCH", "ELAPSED", "LIVE", "ALLOCATED", "STACKS", "FLAGS"]]
        for process in store.processes {
            for (index, header) in process.epochs.enumerated() {
                rows.append([
                    String(process.pid),
                    String(header.epoch),
                    Quantity.seconds(header.elapsedSeconds),
                    Quantity.bytes(process.totals[index].liveBytes, precision: .tenths),
                    Quantity.bytes(process.totals[index].allocBytes, precision: .tenths),
                    String(process.totals[index].stackCount),
                    flags(of: header),
                ])
            }
        }
        return Columns().render(rows)
    }

    static func flags(of header: DumpHeader) -> String {
        let names = [(header.isFinal, "final"), (header.isScanned, "scanned"), (header.isScanned && header.heapTraversed, "heap-traversed"), (header.isTruncated, "truncated")]
            .filter(\.0).map(\.1)
        return names.isEmpty ? "-" : names.joined(separator: ",")
    }
}
