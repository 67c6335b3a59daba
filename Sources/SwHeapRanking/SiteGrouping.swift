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
}

extension StackNames {
    /// What groups stacks into one site: the first user frame's function and line, or its
    /// function and module when the line is unknown.
    public var siteKey: String {
        guard let frame = firstUserFrame else { return "(no frames)" }
        if !frame.file.isEmpty { return "\(frame.function) \(frame.file):\(frame.line)" }
        return "\(frame.function) \(frame.modulePath)"
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
                groups[at].history = merged(groups[at].history, site)
            } else {
                index[key] = groups.count
                groups.append(Group(history: site, members: [(site, stack)], suppression: suppression))
            }
        }
        return groups
    }

    static func merged(_ a: SiteHistory, _ b: SiteHistory) -> SiteHistory {
        SiteHistory(stackID: min(a.stackID, b.stackID), liveBytes: a.liveBytes + b.liveBytes,
                    liveObjects: a.liveObjects + b.liveObjects,
                    unreferencedBytes: a.unreferencedBytes + b.unreferencedBytes,
                    unreferencedObjects: a.unreferencedObjects + b.unreferencedObjects,
                    births: a.births + b.births)
    }
}
