// `swheap serve`: an HTTP server (Hummingbird) over a directory a running program writes to.
//   /metrics             Prometheus text exposition (HeapMetrics)
//   /debug/pprof/heap    the latest epoch as gzipped pprof, as Go services serve it, so
//                        Pyroscope's and Parca's scrape configs for Go work unchanged (?pid=)
//   /debug/pprof/threadcreate  threads per creation stack at the latest census (?pid=)
//   /                    the HTML report, reloading itself
// Each request first refreshes the directory (HeapStoreWatcher: only new dumps are read); the
// outputs are recomputed only when a dump arrived or went.

import Hummingbird
import Logging
import NIOConcurrencyHelpers
import SwHeapDump
import SwHeapStore
import SwHeapSystem

#if canImport(Glibc)
import Glibc
#endif

public struct HeapServer: Sendable {
    public var directory: String
    public var host: String
    public var port: Int
    public var top: Int
    public var refreshSeconds: Int

    public init(directory: String, host: String, port: Int, top: Int, refreshSeconds: Int) {
        self.directory = directory; self.host = host; self.port = port; self.top = top
        self.refreshSeconds = refreshSeconds
    }

    /// Serves until SIGINT or SIGTERM; `onListening` gets the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        let state = WatchedDirectory(directory: directory, top: top, refreshSeconds: refreshSeconds)
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            try respond(state.snapshot(), contentType: "text/plain; version=0.0.4; charset=utf-8") { Array($0.metrics.utf8) }
        }
        router.get("/debug/pprof/heap") { request, _ -> Response in
            let pid = request.uri.queryParameters.get("pid").flatMap { Int32($0) }
            return try respond(state.snapshot(), contentType: "application/octet-stream") { snapshot in
                guard let key = pid ?? snapshot.pprofDefault, let bytes = snapshot.pprof[key] else {
                    throw HTTPError(.notFound, message: "no process \(pid.map(String.init) ?? "") in \(directory)\n")
                }
                return bytes
            }
        }
        router.get("/debug/pprof/threadcreate") { request, _ -> Response in
            let pid = request.uri.queryParameters.get("pid").flatMap { Int32($0) }
            return try respond(state.snapshot(), contentType: "application/octet-stream") { snapshot in
                guard let key = pid ?? snapshot.pprofDefault, let bytes = snapshot.threadcreate[key] else {
                    throw HTTPError(.notFound, message: "no thread census of process \(pid.map(String.init) ?? "") in \(directory)\n")
                }
                return bytes
            }
        }
        router.get("/") { _, _ -> Response in
            try respond(state.snapshot(), contentType: "text/html; charset=utf-8") { Array($0.html.utf8) }
        }
        var logger = Logger(label: "swheap.serve")
        logger.logLevel = .warning   // requests and start-up are not news; failures are
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "swheap"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await app.runService()
    }

    private func respond(_ snapshot: Result<ServeSnapshot, DumpError>, contentType: String,
                         body: (ServeSnapshot) throws -> [UInt8]) throws -> Response {
        switch snapshot {
        case .failure(let error):
            // No dump yet (the program is starting), or a bad dump: say which, and try again later.
            throw HTTPError(.serviceUnavailable, message: "swheap: \(error.description)\n")
        case .success(let snapshot):
            let bytes = try body(snapshot)
            return Response(status: .ok, headers: [.contentType: contentType],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}

/// The directory and the outputs of its latest contents, behind a lock: requests arrive on
/// several threads, and a refresh must not run twice at once.
final class WatchedDirectory: Sendable {
    private struct State {
        var watcher: HeapStoreWatcher
        var snapshot: ServeSnapshot?
        var lastWarning: String?
    }
    private let state: NIOLockedValueBox<State>
    private let top: Int, refreshSeconds: Int

    init(directory: String, top: Int, refreshSeconds: Int) {
        state = NIOLockedValueBox(State(watcher: HeapStoreWatcher(directory: directory)))
        self.top = top; self.refreshSeconds = refreshSeconds
    }

    /// The outputs after reading what changed. A bad new dump keeps the last good outputs
    /// (warned about once on stderr); with none yet, it is the answer.
    func snapshot() -> Result<ServeSnapshot, DumpError> {
        state.withLockedValue { state in
            var rebuilt = false
            defer { if rebuilt { Self.returnFreedMemory() } }
            do throws(DumpError) {
                let refresh = try state.watcher.refresh()
                if state.snapshot == nil || refresh.newFiles > 0 || refresh.removedFiles > 0 {
                    state.snapshot = ServeSnapshot.make(store: refresh.store, top: top, refreshSeconds: refreshSeconds)
                    rebuilt = true
                }
                state.lastWarning = nil
            } catch {
                if state.snapshot == nil { return .failure(error) }
                if state.lastWarning != error.description {
                    writeToStandardError("swheap: warning: \(error.description); serving the last good state\n")
                    state.lastWarning = error.description
                }
            }
            return .success(state.snapshot!)
        }
    }

    /// Building a snapshot of a long run frees several times what it keeps (dogfooded on 16 days
    /// of the fast-motion service: 671 MiB live at the peak, 135 MiB after), and glibc keeps
    /// the freed memory in the arenas of the threads that decoded it: a server that stays up
    /// would hold its peak for good. Give it back once the refresh's store is gone.
    private static func returnFreedMemory() {
        #if canImport(Glibc)
        // glibc's malloc_trim (<malloc.h> is not in Swift's Glibc module); absent elsewhere.
        typealias MallocTrim = @convention(c) (Int) -> Int32
        if let trim = dlsym(nil, "malloc_trim") { _ = unsafeBitCast(trim, to: MallocTrim.self)(0) }
        #endif
    }
}
