// `swheap symbolize`: symbolises addresses of one ELF file, or times a batch of random ones.
// Hidden from help: a developer tool, used by scripts/bench-load for the symbolisation figure.

import ArgumentParser
import Foundation
import SwHeapDump
import SwHeapSymbols

struct SymbolizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "symbolize",
        abstract: "Symbolise ELF virtual addresses of one file (or time a random batch).",
        shouldDisplay: false)

    @Argument(help: ArgumentHelp("The executable or shared library.", valueName: "file"))
    var file: String

    @Argument(help: ArgumentHelp("Addresses (hex ELF virtual addresses) to symbolise.", valueName: "address"))
    var addresses: [String] = []

    @Option(help: ArgumentHelp("Instead: time this many distinct random addresses in [--start, --end).",
                               valueName: "count"))
    var random: Int?

    @Option(help: ArgumentHelp("Start of the range for --random (hex).", valueName: "hex"))
    var start: String = "0"

    @Option(help: ArgumentHelp("End of the range for --random (hex).", valueName: "hex"))
    var end: String = "0"

    func run() throws {
        guard FileManager.default.fileExists(atPath: file) else { throw CommandFailure(message: "\(file): no such file") }
        guard let low = UInt64(start.replacingOccurrences(of: "0x", with: ""), radix: 16),
              let high = UInt64(end.replacingOccurrences(of: "0x", with: ""), radix: 16) else {
            throw ValidationError("--start and --end are hexadecimal addresses")
        }
        // Addresses are given as ELF virtual addresses: a module loaded at bias 0. The shim
        // records return addresses, so the symboliser looks 1 byte back; add it here.
        var wanted: [UInt64]
        if let count = random {
            guard high > low + UInt64(count) else { throw ValidationError("--end must exceed --start by more than --random") }
            var generator = SystemRandomNumberGenerator()
            var picked = Set<UInt64>()
            while picked.count < count { picked.insert(UInt64.random(in: low + 1..<high, using: &generator)) }
            wanted = Array(picked)
        } else {
            wanted = try addresses.map { text in
                guard let value = UInt64(text.replacingOccurrences(of: "0x", with: ""), radix: 16) else {
                    throw ValidationError("\(text) is not a hexadecimal address")
                }
                return value + 1
            }
        }
        let module = Module(loadBias: 0, path: file, buildID: [],
                            segments: [Segment(start: 0, end: UInt64.max, fileOffset: 0, flags: 5)])
        let started = Date()
        let located = Symbolizer().symbolize(wanted, in: [module])
        let seconds = Date().timeIntervalSince(started)
        if random != nil {
            let named = located.values.filter(\.hasFunctionName).count
            print("symbolised \(located.count) distinct addresses (\(named) with function names) in "
                  + String(format: "%.2f", seconds) + " s")
            return
        }
        for address in wanted {
            let frames = located[address]?.frames ?? []
            let text = frames.map { $0.file.isEmpty ? $0.function : "\($0.function) (\($0.file):\($0.line))" }
            print(String(address - 1, radix: 16) + "  " + text.joined(separator: "  <-inlined into-  "))
        }
    }
}
