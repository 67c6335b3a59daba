// What holds a referenced suspect, as the report shows it: the shortest path from a root to
// the site's nearest sampled block at the latest scan. The root is named (a global by its
// symbol, a TLS variable by its symbol, a stack or register by the thread and the function
// whose frame holds it); the heap blocks between by the site that allocated them, when sampled.

import SwHeapDump
import SwHeapRanking
import SwHeapStore
import SwHeapSymbols

public struct HeldBy: Hashable, Sendable {
    public var kind: ScanHolder.Kind
    /// A global's or TLS variable's symbol; for a stack or register, the frame's function; for a
    /// pthread key, its number.
    public var name: String?
    /// The module a global or TLS variable lies in (its file name).
    public var module: String?
    public var thread: UInt32?
    public var address: UInt64
    public var blocksBetween: UInt32
    /// The heap blocks between, in path order; a long path keeps its first and last few.
    public var steps: [Step]

    /// A heap block on the path.
    public struct Step: Hashable, Sendable {
        public var index: UInt32
        /// The site that allocated the block, when it is a sampled object.
        public var site: String?
        public var size: UInt64
        /// Where in the block the pointer to the next block lies; nil when not looked for.
        public var offset: UInt64?
    }

    /// The root alone: "global cache_table (server)", "the stack of thread 4242 (in worker)".
    public var rootText: String {
        let thread = "thread \(self.thread ?? 0)"
        let function = name.map { " (in \($0))" } ?? ""
        switch kind {
        case .global: return "global " + (name ?? "at " + FunctionName.hexAddress(address)) + (module.map { " (\($0))" } ?? "")
        case .tls: return name.map { "thread-local \($0) of \(thread)" + (module.map { " (\($0))" } ?? "") }
            ?? "the thread-local storage of \(thread)"
        case .stack: return "the stack of \(thread)" + function
        case .register: return "a register of \(thread)" + function
        case .pthreadKey: return name.map { "pthread key \($0) of \(thread)" } ?? "a pthread key of \(thread)"
        }
    }

    /// The heap part of the path in order: each recorded block, and the count of blocks a long
    /// path leaves out where it leaves them out.
    public enum Between: Hashable, Sendable {
        case block(Step)
        case omitted(UInt32)
    }

    public var between: [Between] {
        var parts: [Between] = []
        var next: UInt32 = 0
        for step in steps {
            if step.index > next { parts.append(.omitted(step.index - next)) }
            parts.append(.block(step))
            next = step.index + 1
        }
        if blocksBetween > next { parts.append(.omitted(blocksBetween - next)) }
        return parts
    }

    /// "global cache_table (server) → Cache::grow block +16 → this site", with the blocks a
    /// long path leaves out counted.
    public var text: String {
        let heap = between.map { part -> String in
            switch part {
            case let .omitted(count): return count == 1 ? "1 more block" : "\(count) more blocks"
            case let .block(step):
                let block = step.site.map { "\($0) block" } ?? "unsampled \(Quantity.bytes(Double(step.size))) block"
                return block + (step.offset.map { $0 > 0 ? " +\($0)" : "" } ?? "")
            }
        }
        return ([rootText] + heap + ["this site"]).joined(separator: " → ")
    }

    /// The holders of the listed sites of `process`, keyed by the site's stack id: each the
    /// nearest of its stacks'. Roots are named from their module's symbol tables, read once;
    /// blocks by the site of their stack among `sites`.
    static func describe(_ listed: [SiteVerdict], sites: [SiteVerdict], process: ProcessHeap) -> [UInt32: HeldBy] {
        var tables: [String: ELFSymbolTable?] = [:]
        func table(_ module: Module) -> ELFSymbolTable? {
            if tables[module.path] == nil { tables[module.path] = ELFSymbolTable(module: module) }
            return tables[module.path]!
        }
        func moduleName(_ module: Module) -> String { String(module.path.split(separator: "/").last ?? Substring(module.path)) }
        var siteOf: [UInt32: String] = [:]
        for site in sites { for stack in site.stacks { siteOf[stack.stackID] = site.site } }
        var result: [UInt32: HeldBy] = [:]
        for site in listed {
            guard let holder = site.stacks.compactMap(\.heldBy).min(by: { $0.blocksBetween < $1.blocksBetween }) else { continue }
            var held = HeldBy(kind: holder.kind, name: nil, module: nil, thread: holder.thread, address: holder.address,
                              blocksBetween: holder.blocksBetween,
                              steps: holder.steps.map {
                                  Step(index: $0.index, site: $0.blockStack.flatMap { siteOf[$0] }, size: $0.size, offset: $0.offset)
                              })
            switch holder.kind {
            case .global:
                if let module = process.modules.first(where: { $0.contains(holder.address) }) {
                    held.module = moduleName(module)
                    held.name = table(module)?.global(at: holder.address)
                }
            case .tls:
                if let at = holder.context, let module = process.modules.first(where: { $0.contains(at) }) {
                    held.name = table(module)?.threadLocal(at: at)
                    if held.name != nil { held.module = moduleName(module) }
                }
            case .pthreadKey:
                held.name = holder.pthreadKey.map { "\($0)" }
                if holder.context.map({ $0 & ScanHolder.keyBlock != 0 }) == true, held.steps.first?.index == 0 {
                    // The first block is glibc's block of key values: the key names it.
                    held.steps = held.steps.dropFirst().map { var step = $0; step.index -= 1; return step }
                    held.blocksBetween -= 1
                }
            case .stack, .register:
                // A return address lies just past its call: look up the byte before it.
                if let at = holder.context, let module = process.modules.first(where: { $0.contains(at) }) {
                    held.name = table(module)?.function(at: at - 1)
                }
            }
            result[site.stackID] = held
        }
        return result
    }
}
