// The one parser of function names. Demangled names carry parameter lists and qualifiers
// ("ns::Cache::put(std::string const&) const"); reports show the function alone
// ("ns::Cache::put") and frame classification matches on it ("std::", "operator new").
// Addresses nothing names get a fallback name (`libfoo.so+0x1234`) that is never parsed.

public enum FunctionName {
    /// Drops a trailing parameter list (and cv/ref/noexcept qualifiers after it) and a leading
    /// return type, keeping template arguments and names such as `operator()` or
    /// `(anonymous namespace)::f` intact. Swift closures ("closure #1 ... in f()") keep their
    /// words, and a fallback name stays whole (a module file name may hold spaces or parentheses).
    public static func withoutArguments(_ name: String) -> String {
        if name.lastRange(ofASCII: " in ") != nil || isFallback(name) { return name }
        return withoutReturnType(withoutParameters(name))
    }

    /// A frame name for an address nothing better is known about: `libfoo.so+0x1234`
    /// (the ELF virtual address, ready for addr2line), `[vdso]+0x…`, or the bare address.
    static func fallback(modulePath: String?, offset: UInt64, address: UInt64) -> String {
        guard let modulePath else { return hexAddress(address) }
        let base = modulePath.split(separator: "/").last.map(String.init) ?? modulePath
        return base + "+" + hexAddress(offset)
    }

    /// `0x` and lower-case hex digits: how frames without a name show an address.
    public static func hexAddress(_ value: UInt64) -> String {
        "0x" + String(value, radix: 16)
    }

    /// True for what `fallback` makes: `0x1f00` or `anything+0x1f00`.
    static func isFallback(_ name: String) -> Bool {
        let hex: Substring
        if name.hasPrefix("0x") {
            hex = name.dropFirst(2)
        } else if let plus = name.lastRange(ofASCII: "+0x") {
            hex = name[plus.upperBound...]
        } else {
            return false
        }
        return !hex.isEmpty && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    /// "void ns::f<int>" → "ns::f<int>"; spaces inside brackets and after `operator` do not split.
    static func withoutReturnType(_ name: String) -> String {
        var depth = 0, start = name.startIndex, index = name.startIndex
        while index < name.endIndex {
            switch name[index] {
            case "<", "(", "[": depth += 1
            case ">", ")", "]": depth = max(0, depth - 1)
            case " " where depth == 0 && !name[..<index].hasSuffix("operator"):
                start = name.index(after: index)
            default: break
            }
            index = name.index(after: index)
        }
        return start < name.endIndex ? String(name[start...]) : name
    }

    static func withoutParameters(_ name: String) -> String {
        var text = Substring(name.trimmingTrailingSpaces())
        // GNU's demangler names compiler clones "f(int) [clone .isra.0] [clone .cold]".
        while text.hasSuffix("]"), let clone = text.lastRange(ofASCII: " [clone .") {
            text = text[..<clone.lowerBound]
        }
        // Swift: "Module.Type.method(label: Swift.Int) -> Swift.String": drop the result type.
        if let arrow = topLevelArrow(in: text) { text = text[..<arrow] }
        let qualifiers = [" const", " volatile", " &&", " &", " noexcept", " override"]
        var stripped = true
        while stripped {
            stripped = false
            for qualifier in qualifiers where text.hasSuffix(qualifier) {
                text = text.dropLast(qualifier.count); stripped = true
            }
        }
        guard text.hasSuffix(")"), let open = matchingOpen(in: text) else { return String(text) }
        let head = text[..<open]
        // "operator()" and a name that is only a parenthesised group stay as they are.
        if head.isEmpty || head.hasSuffix("operator") { return String(text) }
        return String(head)
    }

    /// Index of the "(" matching the final ")".
    private static func matchingOpen(in text: Substring) -> Substring.Index? {
        var depth = 0
        var index = text.endIndex
        while index > text.startIndex {
            index = text.index(before: index)
            switch text[index] {
            case ")": depth += 1
            case "(":
                depth -= 1
                if depth == 0 { return index }
            default: break
            }
        }
        return nil
    }

    /// " -> " outside any brackets.
    private static func topLevelArrow(in text: Substring) -> Substring.Index? {
        var depth = 0
        var index = text.startIndex
        while index < text.endIndex {
            switch text[index] {
            case "(", "<", "[": depth += 1
            case ")", "]": depth -= 1
            case ">" where index > text.startIndex && text[text.index(before: index)] != "-": depth -= 1
            case "-" where depth == 0 && text[index...].hasPrefix("-> ") && index > text.startIndex
                && text[text.index(before: index)] == " ":
                return text.index(before: index)
            default: break
            }
            index = text.index(after: index)
        }
        return nil
    }
}

private extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
