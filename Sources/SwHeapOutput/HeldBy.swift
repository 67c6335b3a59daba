// What holds a referenced suspect, as the report shows it: the root where the shortest path
// from the roots to the site's nearest sampled block began at the latest scan (a global by
// its symbol and module, or a thread's stack, TLS or register), and how many heap blocks lie
// between. The blocks between are counted, not named yet.

import SwHeapDump
import SwHeapRanking
import SwHeapStore
import SwHeapSymbols

public struct HeldBy: Hashable, Sendable {
    public var kind: ScanHolder.Kind
    /// A global's symbol, when a symbol table names it.
    public var name: String?
    /// The module a global lies in (its file name).
    public var module: String?
    public var thread: UInt32?
    public var address: UInt64
    public var blocksBetween: UInt32

    /// "global cache_table (server)", "the stack of thread 4242", then " through 2 heap blocks".
    public var text: String {
        var root: String
        switch kind {
        case .global: root = "global " + (name ?? "at " + FunctionName.hexAddress(address)) + (module.map { " (\($0))" } ?? "")
        case .stack: root = "the stack of thread \(thread ?? 0)"
        case .tls: root = "the thread-local storage of thread \(thread ?? 0)"
        case .register: root = "a register of thread \(thread ?? 0)"
        }
        switch blocksBetween {
        case 0: return root
        case 1: return root + " through 1 heap block"
        default: return root + " through \(blocksBetween) heap blocks"
        }
    }

    /// The holders of the listed sites of `process`, keyed by the site's stack id: each the
    /// nearest of its stacks'. Globals are named from their module's symbol table, read once.
    static func describe(_ sites: [SiteVerdict], process: ProcessHeap) -> [UInt32: HeldBy] {
        var tables: [String: ELFSymbolTable?] = [:]
        var result: [UInt32: HeldBy] = [:]
        for site in sites {
            guard let holder = site.stacks.compactMap(\.heldBy).min(by: { $0.blocksBetween < $1.blocksBetween }) else { continue }
            var held = HeldBy(kind: holder.kind, name: nil, module: nil, thread: holder.thread, address: holder.address,
                              blocksBetween: holder.blocksBetween)
            if holder.kind == .global, let module = process.modules.first(where: { $0.contains(holder.address) }) {
                held.module = String(module.path.split(separator: "/").last ?? Substring(module.path))
                if tables[module.path] == nil { tables[module.path] = ELFSymbolTable(module: module) }
                held.name = tables[module.path]??.global(at: holder.address)
            }
            result[site.stackID] = held
        }
        return result
    }
}
