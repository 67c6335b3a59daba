// Debian's Prometheus scraping a `swheap serve` every second, for tests that check what a real
// scrape stores; and the loopback port helper both need.

import Foundation
import Glibc
import SwHeapTestSupport
import XCTest

enum RealPrometheus {
    /// Starts Prometheus with a scratch config and TSDB under `dir`, scraping
    /// 127.0.0.1:`servePort` as job `swheap`. Returns the process (the caller keeps it alive; it
    /// is killed when released) and the base URL of its query API (`...?query=` to append to).
    static func start(scraping servePort: Int, in dir: URL) throws -> (process: RunningProgram, queryURL: String) {
        let port = try freeLoopbackPort()
        let config = dir.appendingPathComponent("prometheus.yml")
        try """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: swheap
                static_configs:
                  - targets: ['127.0.0.1:\(servePort)']
            """.write(to: config, atomically: true, encoding: .utf8)
        let process = try ProgramRunner.start("prometheus", [
            "--config.file=\(config.path)", "--storage.tsdb.path=\(dir.appendingPathComponent("tsdb").path)",
            "--web.listen-address=127.0.0.1:\(port)"], environment: ProgramRunner.environment())
        return (process, "http://127.0.0.1:\(port)/api/v1/query?query=")
    }

    /// A loopback port nothing listens on now (the kernel's choice for port 0).
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ToolError("cannot find a free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
