// Sites as people think of them: one allocation site per function and line (after the
// allocator, runtime and container frames that `StackNames.firstUserFrame` skips), however
// many call paths reach it. A loop and its first iteration, or two callers of one helper,
// are one suspect with all the samples, each stack kept as a child.

import SwHeapSymbols
import SwHeapDump

/// One stack (call path) of an allocation site.
public struct SiteStack: Sendable {
    public var stackID: UInt32
    public var stack: StackNames
    /// Live and unreferenced bytes of this stack at the last epoch.
    public var liveBytes: Double
    public var unreferencedBytes: Double?
    /// Where the shortest path to this stack's nearest referenced block began at the scan.
    public var heldBy: ScanHolder? = nil
    /// The unreferenced components this stack's unreferenced blocks belonged to at the scan.
    public var unreferencedComponents: [UInt32] = []
}

extension StackNames {
    /// What groups stacks into one site: the site frame's function and line, or its function
    /// and module when the line is unknown, and the wrapper it calls. Below a wrapper each
    /// caller is its own site, so a growing caller is not averaged with the wrapper's others.
    public var siteKey: String {
        guard let frame = firstUserFrame else { return "(no frames)" }
        let via = wrapper.map { " via " + $0 } ?? ""
        if !frame.file.isEmpty { return "\(frame.function) \(frame.file):\(frame.line)" + via }
        return "\(frame.function) \(frame.modulePath)" + via
    }

    /// `file:line` of the site, nil when unknown.
    public var siteLocation: String? {
        guard let frame = firstUserFrame, !frame.file.isEmpty else { return nil }
        let file = frame.file.split(separator: "/").last.map(String.init) ?? frame.file
        return frame.line > 0 ? "\(file):\(frame.line)" : file
    }
}

enum SiteGrouping {
    /// One history per site: the members' live figures added epoch by epoch, their births
    /// pooled (survival sums cells of the same birth epoch). Groups keep first-seen order.
    struct Group {
        var history: SiteHistory
        var members: [(history: SiteHistory, stack: StackNames)]
        var suppression: Suppression?
    }

    static func group(_ sites: [SiteHistory], names: (SiteHistory) -> StackNames,
                      suppressions: Suppressions) -> [Group] {
        var groups: [Group] = []
        var index: [String: Int] = [:]
        for site in sites {
            let stack = names(site)
            let suppression = suppressions.match(stack)
            // A suppressed call path never hides, or joins, an unsuppressed one.
            let key = stack.siteKey + "\u{0}" + (suppression.map { $0.origin + " " + $0.pattern } ?? "")
            if let at = index[key] {
                groups[at].members.append((site, stack))
            } else {
                index[key] = groups.count
                groups.append(Group(history: site, members: [(site, stack)], suppression: suppression))
            }
        }
        // Merged once per group: merging member by member copied the pooled births again for
        // every member (a 50-stack leak site of a long run holds a million cells).
        for g in groups.indices where groups[g].members.count > 1 {
            groups[g].history = merged(groups[g].members.map(\.history))
        }
        return groups
    }

    static func merged(_ members: [SiteHistory]) -> SiteHistory {
        var sum = members[0]
        sum.births.reserveCapacity(members.reduce(0) { $0 + $1.births.count })
        for member in members.dropFirst() {
            sum.stackID = min(sum.stackID, member.stackID)
            sum.liveBytes = sum.liveBytes + member.liveBytes
            sum.liveObjects = sum.liveObjects + member.liveObjects
            sum.unreferencedBytes = sum.unreferencedBytes + member.unreferencedBytes
            sum.unreferencedObjects = sum.unreferencedObjects + member.unreferencedObjects
            if sum.atScan != nil || member.atScan != nil { sum.atScan = (sum.atScan ?? ScanFigures()) + (member.atScan ?? ScanFigures()) }
            if let held = member.heldBy, held.blocksBetween < sum.heldBy?.blocksBetween ?? .max { sum.heldBy = held }
            sum.unreferencedComponents += member.unreferencedComponents.filter { !sum.unreferencedComponents.contains($0) }
            sum.births += member.births
        }
        return sum
    }
}
