// Collapsed stacks, the text that FlameGraph (flamegraph.pl, difffolded.pl), inferno and
// speedscope read: one line per stack, frames root first joined by ';', then the value.
// A differential view writes two values per line, before and after (difffolded's format).

public enum FoldedStacks {
    public static func render(_ stacks: [FlameStack], differential: Bool) -> String {
        var lines: [String: (before: Int64, after: Int64)] = [:]
        for stack in stacks {
            let key = stack.frames.map { sanitized($0.name) }.joined(separator: ";")
            var entry = lines[key] ?? (0, 0)
            entry.before += rounded(stack.baseValue)
            entry.after += rounded(stack.value)
            lines[key] = entry
        }
        return lines.keys.sorted().compactMap { key in
            let entry = lines[key]!
            if differential { return entry == (0, 0) ? nil : "\(key) \(entry.before) \(entry.after)\n" }
            return entry.after > 0 ? "\(key) \(entry.after)\n" : nil
        }.joined()
    }

    /// ';' separates frames and a line ends the stack: neither may appear inside a name.
    static func sanitized(_ name: String) -> String {
        String(name.map { $0 == ";" ? ":" : ($0 == "\n" || $0 == "\r" ? " " : $0) })
    }

    private static func rounded(_ value: Double) -> Int64 {
        value.isFinite ? Int64(clamping: Int64(exactly: value.rounded()) ?? (value > 0 ? .max : .min)) : 0
    }
}
