// `swheap scan PID`: a reachability scan of a running process now, started under swheap or
// attached. The shim's writer thread runs it (Sources/CSwHeap/scan_reachability.c): the
// process's threads stop only while they are copied, and the dump that carries the verdicts is
// in place when this returns.

import ArgumentParser
import SwHeapDump

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Find what nothing references in a running process now, as the exit scan would.",
        discussion: """
            Asks the shim in the process (started by `swheap run` or LD_PRELOAD, or attached) \
            for a live scan with LeakSanitizer's rules. Its threads are stopped for \
            milliseconds while their registers are read and the process is copied; the copy \
            scans while the process runs on. The verdicts go into the next dump and every dump \
            after it, so `swheap report DIR` shows them even if the process is killed later. \
            Needs the same permission as `swheap attach` (it writes the request into the \
            process's memory) and a process that writes periodic dumps.
            """)

    @Argument(help: "The process id.")
    var pid: Int32

    @Option(help: ArgumentHelp("Give up waiting after this many seconds (the scan still completes in the process).",
                               valueName: "seconds"))
    var timeout: Double = 600

    func validate() throws {
        if pid <= 0 { throw ValidationError("the process id must be a positive number") }
        if !(timeout > 0 && timeout <= 86400) { throw ValidationError("--timeout must be a number of seconds up to 86400.") }
    }

    func run() throws {
        let injector = try AttachTool.find()
        let result = try AttachTool.run(injector, ["scan", String(pid), String(timeout)])
        guard result.ok else { throw CommandFailure(message: result.message) }
        let fields = result.fields
        let dir = fields["dir"] ?? "its dump directory"
        let epoch = fields["epoch"] ?? "?"
        let pause = Double(fields["pause_ns"] ?? "").map { Show.milliseconds($0 / 1e6) } ?? "?"
        let took = Double(fields["duration_ns"] ?? "").map { Show.seconds($0 / 1e9) } ?? "?"
        let cpu = Double(fields["cpu_us"] ?? "").map { Show.milliseconds($0 / 1e3) } ?? "?"
        guard fields["scanned"] == "1" else {
            let why = UInt32(fields["fallback"] ?? "").flatMap(ScanFallback.init(raw:))?.description ?? "its dump could not be written"
            throw CommandFailure(message: "the scan of pid \(pid) found no verdicts: \(why)")
        }
        print("scanned pid \(pid): threads paused \(pause), scan \(took) (CPU \(cpu)); epoch \(epoch) carries the verdicts; swheap report \(dir)")
    }
}
