// The change in live heap per site between two points: two epochs of one process, or the last
// epochs of two runs. Sites are matched by their named stack (allocator and runtime frames left
// out, as in the report), so two runs of the same program match even though addresses moved.

import SwHeapStore
import SwHeapSymbols

/// One side of a diff: live bytes and objects per named stack at one epoch.
public struct HeapSnapshot: Sendable {
    public struct Entry: Sendable {
        public var frames: [FlameFrame]
        /// The site as the report names it (`createClient (via zmalloc)`) and where it is.
        public var site: String
        public var location: String
        public var bytes: Double = 0
        public var objects: Double = 0
    }
    /// Keyed by the stack's frame names, root first.
    public var entries: [[String]: Entry]
    public var label: String

    public init(process: ProcessHeap, epochIndex: Int, names: any SiteNaming, label: String) {
        self.label = label
        var entries: [[String]: Entry] = [:]
        for site in process.sites {
            let bytes = site.liveBytes[epochIndex], objects = site.liveObjects[epochIndex]
            guard bytes.isFinite, objects.isFinite, bytes != 0 || objects != 0 else { continue }
            let stack = names.names(stackID: site.stackID, frames: site.frames)
            let frames = FlameStacks.userFrames(stack, verdict: nil)
            var entry = entries[frames.map(\.name)] ?? Entry(frames: frames, site: stack.siteName, location: Self.location(of: stack))
            entry.bytes += bytes
            entry.objects += objects
            entries[frames.map(\.name)] = entry
        }
        self.entries = entries
    }

    /// `file:line` of the site frame, else its module's file name.
    static func location(of stack: StackNames) -> String {
        if let location = stack.siteLocation { return location }
        return stack.firstUserFrame.map { $0.modulePath.split(separator: "/").last.map(String.init) ?? "" } ?? ""
    }
}

/// A site's live heap before and after.
public struct SiteChange: Sendable {
    public var frames: [FlameFrame]
    public var site: String
    public var location: String
    public var beforeBytes: Double, afterBytes: Double
    public var beforeObjects: Double, afterObjects: Double

    public var bytes: Double { afterBytes - beforeBytes }
    public var objects: Double { afterObjects - beforeObjects }
}

public struct HeapDiff: Sendable {
    public var before: HeapSnapshot
    public var after: HeapSnapshot
    /// Every site present on either side, largest growth first (then largest shrink last).
    public var changes: [SiteChange]

    public init(before: HeapSnapshot, after: HeapSnapshot) {
        self.before = before; self.after = after
        var changes: [SiteChange] = []
        for key in Set(before.entries.keys).union(after.entries.keys) {
            let old = before.entries[key], new = after.entries[key]
            guard let any = new ?? old else { continue }
            changes.append(SiteChange(frames: any.frames, site: any.site, location: any.location,
                                      beforeBytes: old?.bytes ?? 0, afterBytes: new?.bytes ?? 0,
                                      beforeObjects: old?.objects ?? 0, afterObjects: new?.objects ?? 0))
        }
        changes.sort { a, b in
            a.bytes != b.bytes ? a.bytes > b.bytes : a.frames.map(\.name).lexicographicallyPrecedes(b.frames.map(\.name))
        }
        self.changes = changes
    }

    public var beforeBytes: Double { before.entries.values.reduce(0) { $0 + $1.bytes } }
    public var afterBytes: Double { after.entries.values.reduce(0) { $0 + $1.bytes } }

    /// The changes per site as a row shows it (site and where): the call paths of one site
    /// added up, so no two rows read the same. Largest growth first.
    public var siteChanges: [SiteChange] {
        var bySite: [String: SiteChange] = [:]
        var order: [String] = []
        for change in changes {
            let key = change.site + "\u{0}" + change.location
            if var sum = bySite[key] {
                sum.beforeBytes += change.beforeBytes; sum.afterBytes += change.afterBytes
                sum.beforeObjects += change.beforeObjects; sum.afterObjects += change.afterObjects
                bySite[key] = sum
            } else {
                bySite[key] = change
                order.append(key)
            }
        }
        return order.map { bySite[$0]! }.sorted { a, b in
            a.bytes != b.bytes ? a.bytes > b.bytes : (a.site, a.location) < (b.site, b.location)
        }
    }

    /// A table: a totals line, then the `top` largest changes per site (growth first, then shrinkage).
    public func renderTable(top: Int) -> String {
        var out = "live heap: \(Quantity.bytes(beforeBytes)) (\(before.label)) -> \(Quantity.bytes(afterBytes)) (\(after.label)), "
        out += signed(afterBytes - beforeBytes) + "\n"
        let moved = siteChanges.filter { $0.bytes.rounded() != 0 || $0.objects.rounded() != 0 }
        if moved.isEmpty { return out + "no site changed\n" }
        let shown = moved.count <= top ? moved : Array(moved.prefix(top))
        var rows = [["change", "objects", "before", "after", "site", "where"]]
        for change in shown {
            rows.append([signed(change.bytes), signedCount(change.objects), Quantity.bytes(change.beforeBytes),
                         Quantity.bytes(change.afterBytes), change.site, change.location])
        }
        out += Columns([.right, .right, .right, .right, .left, .left]).render(rows)
        if moved.count > shown.count { out += "(\(moved.count - shown.count) more sites changed; --top to see them)\n" }
        return out
    }

    private func signed(_ bytes: Double) -> String { (bytes >= 0 ? "+" : "") + Quantity.bytes(bytes) }
    private func signedCount(_ objects: Double) -> String { (objects.rounded() >= 0 ? "+" : "") + Quantity.count(objects) }
}
