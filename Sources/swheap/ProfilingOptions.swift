// The shim's settings that `swheap run` and `swheap attach` both take, checked once.

import ArgumentParser

struct ProfilingOptions: ParsableArguments {
    @Option(help: "Mean bytes between samples (1 records every allocation).")
    var rate: UInt64?

    @Option(help: ArgumentHelp("Seconds between heap dumps (default 10).", valueName: "seconds"))
    var interval: Double?

    @Option(help: ArgumentHelp("Directory to write dumps into.", valueName: "directory"))
    var dir: String?

    @Option(help: "Maximum stack depth to record.")
    var depth: UInt32?

    @Option(name: .customLong("max-bytes"),
            help: ArgumentHelp("Disk budget of each process's dumps in bytes (SWHEAP_MAX_BYTES; default 256 MiB); 0 keeps everything.",
                               valueName: "bytes"))
    var maxBytes: UInt64?

    @Option(name: .customLong("scan-interval"),
            help: ArgumentHelp("Seconds between live scans for unreferenced memory (SWHEAP_SCAN_INTERVAL; default 600); 0 scans only when asked (swheap scan).",
                               valueName: "seconds"))
    var scanInterval: Double?

    func validate() throws {
        if let scanInterval, !(scanInterval == 0 || (scanInterval >= 0.01 && scanInterval <= 1e9)) {
            throw ValidationError("--scan-interval must be 0 or a number of seconds between 0.01 and 1e9.")
        }
        if let rate, rate < 1 { throw ValidationError("--rate must be at least 1.") }
        if let interval, !(interval >= 0.01 && interval <= 1e9) {
            throw ValidationError("--interval must be a number of seconds between 0.01 and 1e9.")
        }
        if let depth, depth < 1 { throw ValidationError("--depth must be at least 1.") }
    }
}
