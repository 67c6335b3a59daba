// Substring search by bytes for the names and paths of every frame of every site: Foundation's
// `range(of:)` and `contains(_:)` (locale-aware, through NSString) were a tenth of a long
// report's time.

extension StringProtocol {
    /// The last occurrence of `needle`, compared byte by byte.
    func lastRange(ofASCII needle: StaticString) -> Range<Index>? {
        let bytes = Array(utf8), pattern = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard pattern.count <= bytes.count else { return nil }
        for start in stride(from: bytes.count - pattern.count, through: 0, by: -1)
        where bytes[start] == pattern[0] && bytes[start..<(start + pattern.count)].elementsEqual(pattern) {
            let lower = utf8.index(utf8.startIndex, offsetBy: start)
            return lower..<utf8.index(lower, offsetBy: pattern.count)
        }
        return nil
    }
}
