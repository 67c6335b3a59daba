// The global variable at an address: the OBJECT or TLS symbol of a module's ELF symbol tables
// (.symtab, else .dynsym) whose [value, value + size) holds the address's virtual address. A
// holder path's first step names its global this way (llvm-symbolizer names code, and its
// DATA requests would need a second reply format). Static symbols are in .symtab only: a
// stripped module names its exported globals. Sections are read by the one ELF section reader
// (MiniDebugInfo.section), not the whole file.

import Foundation
import SwHeapDump

public struct ELFSymbolTable {
    private let tables: [ELFSymbols]
    private let loadBias: UInt64

    /// Reads `module`'s symbol tables (only those sections, by the ELF reader MiniDebugInfo
    /// uses); nil when it has none or is not ELF64.
    public init?(module: Module) {
        guard !module.isVDSO else { return nil }
        tables = [(".symtab", ".strtab"), (".dynsym", ".dynstr")].compactMap { symbols, strings in
            guard let table = MiniDebugInfo.section(symbols, ofELF: module.path),
                  let names = MiniDebugInfo.section(strings, ofELF: module.path) else { return nil }
            return ELFSymbols(symbols: table, strings: names)
        }
        guard !tables.isEmpty else { return nil }
        loadBias = module.loadBias
    }

    /// The demangled name of the global holding the process address `address`, or nil.
    public func global(at address: UInt64) -> String? {
        for table in tables {
            if let name = table.object(at: address &- loadBias) { return Demangler.demangle(name) ?? name }
        }
        return nil
    }
}

/// One ELF64 symbol table and its string table (little-endian).
struct ELFSymbols {
    let symbols: [UInt8]
    let strings: [UInt8]

    private static let object: UInt8 = 1, tls: UInt8 = 6, symbolSize = 24

    /// The linkage name of the OBJECT or TLS symbol holding virtual address `address`.
    func object(at address: UInt64) -> String? {
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(symbols[at + $1]) << (8 * $1) } }
        var at = 0
        while at + Self.symbolSize <= symbols.count {
            defer { at += Self.symbolSize }
            let type = symbols[at + 4] & 0xF
            guard type == Self.object || type == Self.tls else { continue }
            let value = u64(at + 8), size = u64(at + 16)
            guard address >= value, address < value &+ max(size, 1) else { continue }
            let name = (0..<4).reduce(0) { $0 | Int(symbols[at + $1]) << (8 * $1) }
            guard name < strings.count, let end = strings[name...].firstIndex(of: 0), end > name else { continue }
            return String(decoding: strings[name..<end], as: UTF8.self)
        }
        return nil
    }
}
