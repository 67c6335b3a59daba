// pprof's string table: index 0 is always "", every other string appears once.

struct PprofStringTable {
    private(set) var strings: [String] = [""]
    private var indices: [String: Int64] = ["": 0]

    mutating func index(_ string: String) -> Int64 {
        if let index = indices[string] { return index }
        let index = Int64(strings.count)
        strings.append(string)
        indices[string] = index
        return index
    }
}
