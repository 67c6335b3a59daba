// Colour for the terminal table: only on a tty, never with NO_COLOR set (no-color.org) or TERM=dumb.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import SwHeapRanking

public struct ReportStyle: Sendable {
    public var usesColour: Bool

    public init(usesColour: Bool) { self.usesColour = usesColour }

    /// Colour when standard output is a terminal and the environment does not forbid it.
    public static func forStandardOutput() -> ReportStyle {
        let noColour = getenv("NO_COLOR").map { String(cString: $0) }.map { !$0.isEmpty } ?? false
        let dumb = getenv("TERM").map { String(cString: $0) } == "dumb"
        return ReportStyle(usesColour: isatty(1) == 1 && !noColour && !dumb)
    }

    func paint(_ text: String, _ code: String) -> String {
        usesColour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func verdict(_ verdict: Verdict, text: String) -> String {
        switch verdict {
        case .growing: return paint(text, "1;31")
        case .leakedAtExit: return paint(text, "33")
        case .plateau, .sawtooth: return paint(text, "36")
        case .stable, .tooFewSamples, .tooFewEpochs: return paint(text, "2")
        }
    }

    func memoryVerdict(_ verdict: MemoryVerdict, text: String? = nil) -> String {
        let text = text ?? verdict.rawValue
        switch verdict {
        case .heapGrowth: return paint(text, "1;31")
        case .retention, .notHeap: return paint(text, "33")
        case .stable: return paint(text, "2")
        }
    }

    func bold(_ text: String) -> String { paint(text, "1") }
    func dim(_ text: String) -> String { paint(text, "2") }
}
