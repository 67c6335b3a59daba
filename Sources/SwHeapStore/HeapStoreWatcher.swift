// A dump directory that a running program is still writing to, kept loaded: each refresh
// lists the directory and decodes only files it has not seen (by name, size and modification
// time), then folds every decoded dump into a fresh HeapStore. Files that disappear (removed
// by the user or by retention) drop out. The shim renames each dump into place when complete,
// so a listed file is never half written.

import SwHeapDump

#if canImport(Glibc)
import Glibc
#endif

public struct HeapStoreWatcher: Sendable {
    public let directory: String
    private struct Seen: Sendable {
        var size: Int
        var modified: timespec
        var file: DumpFileName
        var dump: Dump
    }
    private var seen: [String: Seen] = [:]

    public init(directory: String) {
        self.directory = directory
    }

    /// What a refresh did.
    public struct Refresh: Sendable {
        public var store: HeapStore
        /// Files decoded by this refresh (0: nothing changed since the last one).
        public var newFiles: Int
        public var removedFiles: Int
    }

    /// Reads what changed and returns the whole directory's store. A bad new dump is an error
    /// naming the file; what was read before stays cached for the next refresh.
    public mutating func refresh() throws(DumpError) -> Refresh {
        let listed = try HeapStoreLoader.listDumpFiles(directory: directory)
        guard !listed.isEmpty else { throw DumpError(path: directory, problem: .noDumps) }
        var current: [String: Seen] = [:]
        var decoded = 0
        for var file in listed {
            var info = stat()
            guard stat(file.path, &info) == 0 else { continue }   // removed since the listing
            if let known = seen[file.path], known.size == Int(info.st_size),
               known.modified.tv_sec == info.st_mtim.tv_sec, known.modified.tv_nsec == info.st_mtim.tv_nsec {
                current[file.path] = known
                continue
            }
            let dump = try HeapStoreLoader.decode(file).get()
            file.imageStart = dump.header.startMonotonicNs
            current[file.path] = Seen(size: Int(info.st_size), modified: info.st_mtim, file: file, dump: dump)
            decoded += 1
        }
        let removed = seen.keys.filter { current[$0] == nil }.count
        seen = current
        let ordered = current.values.sorted { DumpFileName.foldsBefore($0.file, $1.file) }
        var assembler = ProcessAssembler(files: ordered.map(\.file))
        for entry in ordered { assembler.add(entry.dump, file: entry.file) }
        return Refresh(store: assembler.finish(directory: directory), newFiles: decoded, removedFiles: removed)
    }
}
