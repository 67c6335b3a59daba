// One line of `llvm-symbolizer --output-style=JSON --inlines` output, and its conversion into
// frames. Example:
//   {"Address":"0x1178","ModuleName":"/bin/t","Symbol":[{"FunctionName":"inner","FileName":"/src/t.c",
//    "Line":3,...},{"FunctionName":"make_thing",...}]}      (innermost first)
//   {"Address":"0x10","Error":{"Message":"No such file or directory"},"ModuleName":"/nonexist"}
import Foundation

struct SymbolizerReply: Decodable {
    struct Entry: Decodable {
        var FunctionName: String?
        var FileName: String?
        var Line: Int?
    }
    struct Failure: Decodable { var Message: String? }

    var Address: String?
    var Symbol: [Entry]?
    var Error: Failure?

    static func decode(_ line: UnsafeRawBufferPointer, with decoder: JSONDecoder) -> SymbolizerReply? {
        try? decoder.decode(SymbolizerReply.self, from: Data(line))
    }

    /// Frames innermost first, or nil when the reply names neither a function nor a line.
    func frames() -> [SymbolizedFrame]? {
        guard let entries = Symbol, !entries.isEmpty else { return nil }
        var frames: [SymbolizedFrame] = []
        var anything = false
        for (index, entry) in entries.enumerated() {
            let rawName = known(entry.FunctionName)
            let line = entry.Line ?? 0
            // Symbol-table-only answers carry a bogus file ("Swift.o") with line 0: keep files
            // only with a line.
            let file = line > 0 ? known(entry.FileName) : ""
            if !rawName.isEmpty || line > 0 { anything = true }
            frames.append(SymbolizedFrame(
                function: rawName.isEmpty ? "" : (Demangler.demangle(rawName) ?? rawName),
                systemName: rawName, file: file, line: line,
                isInlined: index < entries.count - 1))
        }
        return anything ? frames : nil
    }

    private func known(_ value: String?) -> String {
        guard let value, value != "??" else { return "" }
        return value
    }
}
