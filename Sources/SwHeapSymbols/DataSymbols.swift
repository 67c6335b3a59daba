// The symbol at an address, from a module's ELF symbol tables (.symtab, else .dynsym): the
// OBJECT whose [value, value + size) holds the address's virtual address (a global), the TLS
// symbol at an offset of the module's TLS segment (a thread-local), or the FUNC (the function
// of a frame). A holder path's root is named this way (llvm-symbolizer names code, and its
// DATA requests would need a second reply format). Static symbols are in .symtab only: a
// stripped module names its exported ones. Sections are read by the one ELF section reader
// (MiniDebugInfo.section), not the whole file.

import Foundation
import SwHeapDump

public struct ELFSymbolTable {
    private let tables: [ELFSymbols]
    private let loadBias: UInt64
    /// The virtual address of the PT_TLS segment, where TLS symbols' values count from.
    private let tlsStart: UInt64?

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
        tlsStart = Self.tlsSegmentStart(module.path)
    }

    /// The demangled name of the global holding the process address `address`, or nil.
    public func global(at address: UInt64) -> String? { name(of: [ELFSymbols.object], at: address &- loadBias) }

    /// The demangled name of the function holding the code address `address`, or nil.
    public func function(at address: UInt64) -> String? { name(of: [ELFSymbols.function], at: address &- loadBias) }

    /// The thread-local variable at `address` of the module's TLS image (load bias + PT_TLS
    /// start + the variable's offset in every thread's block), or nil.
    public func threadLocal(at address: UInt64) -> String? {
        guard let tlsStart, address &- loadBias >= tlsStart else { return nil }
        return name(of: [ELFSymbols.tls], at: address &- loadBias &- tlsStart)
    }

    private func name(of types: Set<UInt8>, at value: UInt64) -> String? {
        for table in tables {
            if let name = table.symbol(of: types, at: value) { return Demangler.demangle(name) ?? name }
        }
        return nil
    }

    /// p_vaddr of the ELF64 file's PT_TLS program header, or nil.
    static func tlsSegmentStart(_ path: String) -> UInt64? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        guard let header = try? file.read(upToCount: 64).map([UInt8].init), header.count == 64,
              header.starts(with: [0x7F, 0x45, 0x4C, 0x46]), header[4] == 2, header[5] == 1 else { return nil }
        func u64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * $1) } }
        func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
        let offset = u64(header, 0x20), size = u16(header, 0x36), count = u16(header, 0x38)
        guard size >= 56, count > 0, (try? file.seek(toOffset: offset)) != nil,
              let table = try? file.read(upToCount: size * count).map([UInt8].init), table.count == size * count else { return nil }
        for index in 0..<count where table[index * size] == 7 && table[index * size + 1...index * size + 3] == [0, 0, 0] {
            return u64(table, index * size + 0x10)
        }
        return nil
    }
}

/// One ELF64 symbol table and its string table (little-endian).
struct ELFSymbols {
    let symbols: [UInt8]
    let strings: [UInt8]

    static let object: UInt8 = 1, function: UInt8 = 2, tls: UInt8 = 6
    private static let symbolSize = 24

    /// The linkage name of the symbol of one of `types` whose [value, value + size) holds `address`.
    func symbol(of types: Set<UInt8>, at address: UInt64) -> String? {
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(symbols[at + $1]) << (8 * $1) } }
        var at = 0
        while at + Self.symbolSize <= symbols.count {
            defer { at += Self.symbolSize }
            let type = symbols[at + 4] & 0xF
            guard types.contains(type), symbols[at + 6] != 0 || symbols[at + 7] != 0 else { continue } /* defined */
            let value = u64(at + 8), size = u64(at + 16)
            guard address >= value, address < value &+ max(size, 1) else { continue }
            let name = (0..<4).reduce(0) { $0 | Int(symbols[at + $1]) << (8 * $1) }
            guard name < strings.count, let end = strings[name...].firstIndex(of: 0), end > name else { continue }
            return String(decoding: strings[name..<end], as: UTF8.self)
        }
        return nil
    }
}
