// Stacks merged into a tree by frame name, as flame graphs draw them: a node's width is the
// sum of the stacks through it, children sorted by name so the same heap draws the same graph.

public struct FlameNode: Sendable {
    public var frame: FlameFrame
    /// Width: the value (or growth) of every stack through this node.
    public var total: Double = 0
    /// The same at the base epoch, for a differential graph's colours and details.
    public var baseTotal: Double = 0
    public var children: [FlameNode] = []

    public var depth: Int { 1 + (children.map(\.depth).max() ?? 0) }
}

public enum FlameTree {
    /// A root named `rootName` holding every stack with a positive width.
    public static func build(_ stacks: [FlameStack], differential: Bool, rootName: String) -> FlameNode {
        var root = Builder(frame: FlameFrame(name: rootName, module: "", verdict: nil))
        for stack in stacks {
            let width = stack.width(differential: differential)
            guard width > 0 else { continue }
            root.add(stack.frames[...], width: width, base: stack.baseValue)
        }
        return root.node()
    }

    /// Children kept by name while stacks are added.
    private struct Builder {
        var frame: FlameFrame
        var total = 0.0, baseTotal = 0.0
        var children: [String: Builder] = [:]

        mutating func add(_ frames: ArraySlice<FlameFrame>, width: Double, base: Double) {
            total += width
            baseTotal += base
            guard let first = frames.first else { return }
            var child = children[first.name] ?? Builder(frame: first)
            if child.frame.verdict == nil { child.frame.verdict = first.verdict }
            child.add(frames.dropFirst(), width: width, base: base)
            children[first.name] = child
        }

        func node() -> FlameNode {
            FlameNode(frame: frame, total: total, baseTotal: baseTotal,
                      children: children.keys.sorted().map { children[$0]!.node() })
        }
    }
}
