// MiniDebugInfo: Fedora's and many distributions' stripped binaries keep a small symbol table
// (the functions .dynsym lacks) as an xz-compressed ELF in a `.gnu_debugdata` section.
// llvm-symbolizer does not read it; swheap decompresses it into a file of its own that
// llvm-symbolizer reads like any other object (same virtual addresses).

import CLzma
import Foundation
import SwHeapSystem

enum MiniDebugInfo {
    /// The bytes of section `name` of the ELF64 file at `path`; nil when it has no such
    /// section or is not a little-endian ELF64 file we can read.
    static func section(_ name: String, ofELF path: String) -> [UInt8]? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        func read(_ offset: UInt64, _ count: Int) -> [UInt8]? {
            guard (try? file.seek(toOffset: offset)) != nil, let data = try? file.read(upToCount: count),
                  data.count == count else { return nil }
            return [UInt8](data)
        }
        guard let header = read(0, 64), header.starts(with: [0x7F, 0x45, 0x4C, 0x46]), header[4] == 2, header[5] == 1
        else { return nil }
        func u16(_ bytes: [UInt8], _ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ bytes: [UInt8], _ at: Int) -> UInt64 { (0..<4).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        let tableOffset = u64(header, 0x28), entrySize = u16(header, 0x3A), count = u16(header, 0x3C)
        let namesIndex = u16(header, 0x3E)
        guard entrySize >= 64, count > 0, count < 65_280, namesIndex < count,
              let table = read(tableOffset, entrySize * count) else { return nil }
        let sections = (0..<count).map { index -> (name: UInt64, offset: UInt64, size: UInt64) in
            let at = index * entrySize
            return (u32(table, at), u64(table, at + 0x18), u64(table, at + 0x20))
        }
        let names = sections[namesIndex]
        guard names.size < 1 << 24, let strings = read(names.offset, Int(names.size)) else { return nil }
        let wanted = Array(name.utf8) + [0]
        for section in sections where section.size > 0 && section.size < 1 << 30 {
            let start = Int(section.name)
            guard start + wanted.count <= strings.count, Array(strings[start..<start + wanted.count]) == wanted else { continue }
            return read(section.offset, Int(section.size))
        }
        return nil
    }

    /// xz data decompressed; nil when it is not valid xz or would exceed `limit` bytes.
    static func decompressXZ(_ input: [UInt8], limit: Int = 1 << 28) -> [UInt8]? {
        var stream = lzma_stream()
        guard lzma_stream_decoder(&stream, UInt64.max, 0) == LZMA_OK else { return nil }
        defer { lzma_end(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        return input.withUnsafeBufferPointer { source -> [UInt8]? in
            stream.next_in = source.baseAddress
            stream.avail_in = source.count
            while true {
                let result = chunk.withUnsafeMutableBufferPointer { buffer -> lzma_ret in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = buffer.count
                    return lzma_code(&stream, LZMA_FINISH)
                }
                output.append(contentsOf: chunk[0..<(chunk.count - stream.avail_out)])
                if output.count > limit { return nil }
                if result == LZMA_STREAM_END { return output }
                if result != LZMA_OK { return nil }
            }
        }
    }

    /// Writes the MiniDebugInfo of `path` as an ELF file in `directory`; nil when it has none.
    static func extract(from path: String, into directory: String, name: String) -> String? {
        guard let compressed = section(".gnu_debugdata", ofELF: path), let elf = decompressXZ(compressed),
              elf.starts(with: [0x7F, 0x45, 0x4C, 0x46]) else { return nil }
        let output = directory + "/" + name
        do throws(SystemError) {
            try FileIO.writeAtomically(elf, to: output, temporaryName: name + ".partial")
        } catch {
            return nil
        }
        return output
    }
}
