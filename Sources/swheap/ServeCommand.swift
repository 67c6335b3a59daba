// `swheap serve DIR`: Prometheus metrics, pprof and the HTML report of a directory that a
// running program is still writing to.

import ArgumentParser
import SwHeapServe
import SwHeapSystem

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a dump directory over HTTP: /metrics, /debug/pprof/heap and the HTML report at /.",
        discussion: """
            The directory may not exist yet. Each request reads only the dumps that arrived since the last one. /metrics is the \
            Prometheus text format (per process: live bytes and objects, allocated bytes, epochs; \
            per top finding: live bytes, growth rate, unreferenced bytes, labelled by site and \
            verdict). /debug/pprof/heap is the latest epoch as gzipped pprof, where Pyroscope and \
            Parca look for a Go service's heap (?pid=P for another process). Stops on SIGINT/SIGTERM.
            """)

    @OptionGroup var directory: DumpDirectoryArgument

    @Option(help: ArgumentHelp("Address to listen on (port 0: any free port, printed at start).", valueName: "host:port"))
    var listen = "127.0.0.1:9464"

    @Option(help: "Findings per process that get their own metric series.")
    var top = 10

    @Option(help: ArgumentHelp("Seconds between reloads of the HTML page.", valueName: "seconds"))
    var pageRefresh = 10

    func validate() throws {
        guard address != nil else { throw ValidationError("--listen wants host:port, e.g. 127.0.0.1:9464") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if pageRefresh < 1 { throw ValidationError("--page-refresh must be at least 1") }
    }

    private var address: (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65535).contains(port), colon > listen.startIndex else { return nil }
        return (String(listen[..<colon]), port)
    }

    func run() async throws {
        let (host, port) = address!
        let server = HeapServer(directory: directory.path, host: host, port: port, top: top, refreshSeconds: pageRefresh)
        let directory = self.directory.path
        do {
            try await server.run { bound in
                writeToStandardError("swheap: serving \(directory) at http://\(host):\(bound)/ (/metrics, /debug/pprof/heap)\n")
            }
        } catch {
            throw CommandFailure(message: "cannot serve on \(listen): \(error)")
        }
    }
}
