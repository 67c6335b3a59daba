// Suppressions in LeakSanitizer's format, plus built-in ones for glibc and C++ runtime
// allocations that are made once and kept on purpose. Suppressed sites are hidden from the
// suspects of a report but still counted, so nothing disappears silently.
//
//     # comment
//     leak:libcrypto.so        substring of a function name, module path or source file
//     leak:^MyCache::*$        `*` matches anything; `^` and `$` anchor at the ends
//     wrapper:zmalloc          not a suppression: an allocation wrapper (see WrapperRules),
//                              whose callers are the sites; `*` as in `leak:`, always whole-name

import SwHeapSystem

/// A suppressions file that cannot be used, with where and why.
public struct SuppressionError: SwHeapError, Equatable {
    public var source: String
    /// 1-based line; 0 when the file itself could not be read.
    public var line: Int
    public var problem: String

    public var description: String {
        line > 0 ? "\(source):\(line): \(problem)" : "\(source): \(problem)"
    }
}

/// One `leak:PATTERN` rule.
public struct Suppression: Hashable, Sendable {
    public var pattern: String {
        didSet { template = Template(pattern) }
    }
    /// Where it came from: "built-in", or "FILE:LINE".
    public var origin: String
    public var isBuiltIn: Bool
    /// The pattern taken apart once: matching runs for every frame of every site.
    private var template: Template

    public init(pattern: String, origin: String, isBuiltIn: Bool = false) {
        self.pattern = pattern; self.origin = origin; self.isBuiltIn = isBuiltIn
        self.template = Template(pattern)
    }

    private struct Template: Hashable, Sendable {
        var anchoredStart: Bool
        var anchoredEnd: Bool
        var pieces: [[UInt8]]

        init(_ pattern: String) {
            var body = Substring(pattern)
            anchoredStart = body.hasPrefix("^")
            if anchoredStart { body = body.dropFirst() }
            anchoredEnd = body.hasSuffix("$")
            if anchoredEnd { body = body.dropLast() }
            pieces = body.split(separator: "*", omittingEmptySubsequences: false).map { Array($0.utf8) }
        }
    }

    /// LeakSanitizer's template match: a substring match unless anchored with `^` / `$`,
    /// with `*` standing for any run of characters.
    public func matches(_ text: String) -> Bool { matches(utf8: Array(text.utf8)) }

    /// The same, on text already in UTF-8 (callers convert each frame once for all rules).
    public func matches(utf8 bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return false }
        let pieces = template.pieces
        var position = 0
        for (index, piece) in pieces.enumerated() {
            if piece.isEmpty { continue }
            let isFirst = index == 0, isLast = index == pieces.count - 1
            if isFirst && template.anchoredStart {
                guard bytes.starts(with: piece) else { return false }
                position = piece.count
            } else if isLast && template.anchoredEnd {
                guard bytes.count - piece.count >= position,
                      bytes[(bytes.count - piece.count)...].elementsEqual(piece) else { return false }
                position = bytes.count
            } else {
                guard let found = Self.find(piece, in: bytes, from: position) else { return false }
                position = found + piece.count
            }
        }
        // "^abc$" with no wildcard must match the whole text.
        if template.anchoredEnd && pieces.last?.isEmpty == false { return position == bytes.count }
        return true
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard needle.count <= haystack.count - start else { return nil }
        var index = start
        while index + needle.count <= haystack.count {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

/// An ordered list of rules; the first that matches any frame of a stack wins.
public struct Suppressions: Sendable {
    public var rules: [Suppression]
    /// Functions named by `wrapper:NAME` lines.
    public var wrappers: [String]

    public init(rules: [Suppression] = [], wrappers: [String] = []) { self.rules = rules; self.wrappers = wrappers }

    /// Allocations glibc and the C++ runtime make once and keep for the life of the process.
    /// Function names only; deliberately not `__libc_start_main`, which is under every stack.
    public static let builtIn = Suppressions(rules: [
        "^_dl_",                   // dynamic loader: link maps, TLS blocks, static constructors via _dl_init
        "^__tls_get_addr",         // dynamic TLS blocks, one per thread and module
        "^__libc_early_init", "^__libc_init_first", "^__libc_csu_init", "^__libc_setlocale",
        "^__libc_dlopen", "^__libc_alloc_buffer",
        "std::ios_base::Init",     // the standard streams
        "__cxa_get_globals",       // per-thread exception globals
        "^__cxa_thread_atexit",
        "^__new_exitfn",           // atexit handler blocks
        "_IO_file_doallocate",     // stdio buffers
        "__gconv",                 // iconv conversion modules
        "tzset", "__tzfile_read",  // time zone data
        "^_nl_",                   // locale data
        "^__nss_", "^_nss_",       // name service modules
        "^__res_", "^__resolv_context",
    ].map { Suppression(pattern: $0, origin: "built-in", isBuiltIn: true) })

    /// Parses LeakSanitizer's format: `leak:PATTERN` lines, `#` comments, blank lines; and
    /// swheap's `wrapper:NAME` lines.
    static func parse(_ text: String, source: String) throws(SuppressionError) -> Suppressions {
        var rules: [Suppression] = []
        var wrappers: [String] = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else {
                throw SuppressionError(source: source, line: offset + 1,
                                       problem: "expected `leak:PATTERN`, found \"\(line)\"")
            }
            let type = line[..<colon], pattern = line[line.index(after: colon)...].trimmingWhitespace()
            guard type == "leak" || type == "wrapper" else {
                throw SuppressionError(source: source, line: offset + 1,
                                       problem: "unknown suppression type \"\(type)\"; swheap reads only `leak:PATTERN` and `wrapper:NAME` lines")
            }
            guard !pattern.isEmpty else {
                throw SuppressionError(source: source, line: offset + 1, problem: "empty pattern after `\(type):`")
            }
            if type == "wrapper" {
                wrappers.append(String(pattern))
            } else {
                rules.append(Suppression(pattern: String(pattern), origin: "\(source):\(offset + 1)"))
            }
        }
        return Suppressions(rules: rules, wrappers: wrappers)
    }

    /// Reads and parses a suppressions file.
    public static func load(path: String) throws(SuppressionError) -> Suppressions {
        let bytes: [UInt8]
        do throws(SystemError) { bytes = try FileIO.read(path: path) } catch {
            throw SuppressionError(source: path, line: 0, problem: "cannot read suppressions file: \(error.reason)")
        }
        return try parse(String(decoding: bytes, as: UTF8.self), source: path)
    }

    public static func + (lhs: Suppressions, rhs: Suppressions) -> Suppressions {
        Suppressions(rules: lhs.rules + rhs.rules, wrappers: lhs.wrappers + rhs.wrappers)
    }

    /// The first rule matching a frame of the stack: its function name, module path or source
    /// file. Built-in rules look at function names only.
    public func match(_ stack: StackNames) -> Suppression? {
        let functions = stack.frames.map { Array($0.function.utf8) }
        let places = stack.frames.map { (Array($0.modulePath.utf8), Array($0.file.utf8)) }
        for rule in rules {
            for (index, function) in functions.enumerated() {
                if rule.matches(utf8: function) { return rule }
                if !rule.isBuiltIn && (rule.matches(utf8: places[index].0) || rule.matches(utf8: places[index].1)) {
                    return rule
                }
            }
        }
        return nil
    }
}

private extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" || first == "\r" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text = text.dropLast() }
        return text
    }
}
