// `swheap dumps DIR`: one line per dump, to see what a run recorded at a glance.

import ArgumentParser
import SwHeapCore

struct DumpsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dumps",
        abstract: "List the heap dumps in a directory, one line per epoch per process.")

    @Argument(help: ArgumentHelp("A dump directory written by `swheap run`.", valueName: "directory"))
    var directory: String

    func run() throws {
        let store = try HeapStore.load(directory: directory)
        var rows = [["PID", "EPOCH", "ELAPSED", "LIVE", "ALLOCATED", "STACKS", "FLAGS"]]
        for process in store.processes {
            for (index, header) in process.epochs.enumerated() {
                rows.append([
                    String(process.pid),
                    String(header.epoch),
                    formatSeconds(process.elapsedSeconds(at: index)),
                    formatBytes(process.totalLiveBytes(at: index)),
                    formatBytes(process.totalAllocBytes(at: index)),
                    String(process.totals[index].stackCount),
                    flags(of: header),
                ])
            }
        }
        print(alignedColumns(rows), terminator: "")
    }

    private func flags(of header: DumpHeader) -> String {
        let names = [(header.isFinal, "final"), (header.isScanned, "scanned"), (header.isTruncated, "truncated")]
            .filter(\.0).map(\.1)
        return names.isEmpty ? "-" : names.joined(separator: ",")
    }
}

/// Left-aligns the last column and right-aligns the others (they are numbers).
func alignedColumns(_ rows: [[String]]) -> String {
    guard let columnCount = rows.map(\.count).max() else { return "" }
    var widths = [Int](repeating: 0, count: columnCount)
    for row in rows {
        for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
    }
    var out = ""
    for row in rows {
        let cells = row.enumerated().map { column, cell in
            let padding = String(repeating: " ", count: widths[column] - cell.count)
            return column == row.count - 1 ? cell : padding + cell
        }
        out += cells.joined(separator: "  ") + "\n"
    }
    return out
}

/// 1536 -> "1.5 KiB"; estimates are fractional, so whole bytes only below 1 KiB.
func formatBytes(_ bytes: Double) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var value = bytes.isFinite ? bytes : 0
    var unit = 0
    while abs(value) >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if unit == 0 { return "\(Int(value.rounded())) B" }
    return fixedPoint(value, decimals: 1) + " " + units[unit]
}

/// 75.25 -> "75.3s"; 3725 -> "1h02m05s".
func formatSeconds(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    if seconds < 60 { return fixedPoint(seconds, decimals: 1) + "s" }
    let whole = Int(seconds.rounded())
    let (hours, minutes, secs) = (whole / 3600, whole / 60 % 60, whole % 60)
    let two = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
    return hours > 0 ? "\(hours)h\(two(minutes))m\(two(secs))s" : "\(minutes)m\(two(secs))s"
}

private func fixedPoint(_ value: Double, decimals: Int) -> String {
    var scale = 1
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((abs(value) * Double(scale)).rounded())
    let sign = value < 0 && scaled != 0 ? "-" : ""
    let fraction = String(scaled % scale)
    return sign + "\(scaled / scale)." + String(repeating: "0", count: decimals - fraction.count) + fraction
}
