// Allocation wrappers: a program's own functions that only pass allocations on (`zmalloc`
// with an accounting header, `xmalloc` with out-of-memory handling, `g_malloc`). Named after
// the wrapper, every allocation of such a program falls into two or three sites and a leaking
// caller hides among the others; so the wrapper is not the site, its caller is, shown as
// `createClient (via zmalloc)`.
//
// Found two ways. Named by the user: `--wrapper NAME`, `SWHEAP_WRAPPERS`, a `wrapper:NAME`
// line in the suppressions file. And automatically, with no list to keep: a function that is
// the first frame above the allocator (or above another wrapper) for at least `minimumCallers`
// distinct callers, from at most `maximumCallPositions` places in itself, passes allocations on.

import Foundation

public struct WrapperRules: Sendable {
    /// Function names (without arguments) that are wrappers; `*` matches any run of characters.
    public var names: [String]
    /// Also find wrappers by the shape of the stacks.
    public var detectsAutomatically: Bool
    /// Distinct calling functions a wrapper is seen allocating for.
    public var minimumCallers: Int
    /// Distinct return addresses a wrapper calls the allocator (or the next wrapper) from: one
    /// `malloc` call, perhaps a second on a retry or a realloc path.
    public var maximumCallPositions: Int

    public init(names: [String] = [], detectsAutomatically: Bool = true, minimumCallers: Int = 4,
                maximumCallPositions: Int = 2) {
        self.names = names; self.detectsAutomatically = detectsAutomatically
        self.minimumCallers = minimumCallers; self.maximumCallPositions = maximumCallPositions
        patterns = names.map { Suppression(pattern: "^" + $0 + "$", origin: "wrapper") }
    }

    private var patterns: [Suppression]

    /// Names from `SWHEAP_WRAPPERS`: separated by commas, colons or white space.
    public static func environmentNames(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        (environment["SWHEAP_WRAPPERS"] ?? "").split { $0 == "," || $0 == ":" || $0 == " " || $0 == "\t" }.map(String.init)
    }

    /// True when the user named `function` (without arguments) a wrapper.
    public func isNamed(_ function: String) -> Bool {
        guard !patterns.isEmpty else { return false }
        let bytes = Array(function.utf8)
        return patterns.contains { $0.matches(utf8: bytes) }
    }

    /// One frame of a stack as detection sees it.
    struct Frame {
        var function: String
        var address: UInt64
        var isRuntime: Bool
    }

    /// The functions that pass allocations on, from all the stacks of one process (innermost
    /// frame first). Rounds peel one layer each: the frames right above the allocator first,
    /// then those right above a wrapper found, so `zmalloc` over an inlined
    /// `ztrymalloc_usable_internal` is seen through as a whole.
    func detect(_ stacks: [[Frame]]) -> Set<String> {
        guard detectsAutomatically else { return [] }
        var wrappers = Set<String>()
        for _ in 0..<8 {
            var callers: [String: Set<String>] = [:]
            var positions: [String: Set<UInt64>] = [:]
            for stack in stacks {
                guard let site = stack.firstIndex(where: { !$0.isRuntime && !wrappers.contains($0.function) && !isNamed($0.function) })
                else { continue }
                let caller = stack[(site + 1)...].first { !$0.isRuntime }?.function ?? ""
                callers[stack[site].function, default: []].insert(caller)
                positions[stack[site].function, default: []].insert(stack[site].address)
            }
            let found = callers.keys.filter { function in
                callers[function]!.count >= minimumCallers && positions[function]!.count <= maximumCallPositions
            }
            if found.isEmpty { break }
            wrappers.formUnion(found)
        }
        return wrappers
    }
}
