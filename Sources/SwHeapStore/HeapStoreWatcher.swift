// A dump directory that a running program is still writing to, kept loaded: each refresh
// lists the directory and reads only what is new: epoch files it has not seen (by name, size
// and modification time) and, for v2, the chunks appended to each stack log since the last
// refresh. Then it folds the cached dumps into a fresh HeapStore. Files that disappear (removed
// by the user or by retention) drop out, and so do epochs the bounded timeline no longer keeps.
// The shim renames each dump into place when complete, so a listed file is never half written.

import SwHeapDump
import SwHeapSystem

#if canImport(Glibc)
import Glibc
#endif

public struct HeapStoreWatcher: Sendable {
    public let directory: String
    public let selection: EpochSelection
    private struct Seen: Sendable {
        var size: Int
        var modified: timespec
        var file: DumpFileName
        /// Nil while the file is outside the timeline (it is never read then).
        var dump: Dump?
    }
    private var seen: [String: Seen] = [:]
    private var logs = LogReplays()
    private var warned = Set<String>()
    private var epochBytesRead: UInt64 = 0

    public init(directory: String, selection: EpochSelection = .bounded) {
        self.directory = directory
        self.selection = selection
    }

    /// What a refresh did.
    public struct Refresh: Sendable {
        public var store: HeapStore
        /// Files decoded by this refresh (0: nothing changed since the last one).
        public var newFiles: Int
        public var removedFiles: Int
        /// Bytes read by this refresh: epoch files (headers and bodies) and stack logs.
        public var bytesRead: UInt64
    }

    /// Reads what changed and returns the whole directory's store. A bad new dump is an error
    /// naming the file; what was read before stays cached for the next refresh.
    public mutating func refresh() throws(DumpError) -> Refresh {
        let before = epochBytesRead + logs.bytesRead
        let listed = try HeapStoreLoader.listDumpFiles(directory: directory)
        guard !listed.isEmpty else { throw DumpError(path: directory, problem: .noDumps) }
        var current: [String: Seen] = [:]
        let newestOfPID = Dictionary(listed.map { ($0.pid, $0.epoch) }, uniquingKeysWith: max)
        var warnings: [String] = []
        for var file in listed {
            var info = stat()
            guard stat(file.path, &info) == 0 else { continue }   // removed since the listing
            if let known = seen[file.path], known.size == Int(info.st_size),
               known.modified.tv_sec == info.st_mtim.tv_sec, known.modified.tv_nsec == info.st_mtim.tv_nsec {
                current[file.path] = known
                continue
            }
            do throws(DumpError) {
                let header = try DumpReader.readHeader(path: file.path)
                epochBytesRead += UInt64(DumpLayout.headerSize)
                file.imageStart = header.startMonotonicNs
                current[file.path] = Seen(size: Int(info.st_size), modified: info.st_mtim, file: file, dump: nil)
            } catch where error.isIncomplete && newestOfPID[file.pid] == file.epoch {
                warnings.append(HeapStoreLoader.skipWarning(error))
            }
        }
        let removed = seen.keys.filter { current[$0] == nil }.count
        var ordered = current.values.map(\.file).sorted(by: DumpFileName.foldsBefore)
        ordered = selection.select(ordered)
        // Epochs the timeline no longer keeps are dropped (and never read again).
        let kept = Set(ordered.map(\.path))
        for path in current.keys where !kept.contains(path) { current[path]!.dump = nil }
        var decoded = 0
        var files: [DumpFileName] = []
        var folded: [Dump] = []
        for (i, file) in ordered.enumerated() {
            var entry = current[file.path]!
            if entry.dump == nil {
                do throws(DumpError) {
                    let dump = try HeapStoreLoader.decodeFileOnly(file)
                    epochBytesRead += UInt64(entry.size)
                    entry.dump = try logs.complete(dump, file: file)
                    decoded += 1
                } catch where error.isIncomplete && error.path == file.path
                    && (i + 1 == ordered.count || ordered[i + 1].image != file.image) {
                    // The newest epoch of its image, cut short: skipped until it changes.
                    warnings.append(HeapStoreLoader.skipWarning(error))
                    current[file.path] = nil
                    continue
                }
                current[file.path] = entry
            }
            files.append(file)
            folded.append(entry.dump!)
        }
        seen = current
        logs.keep(only: logPaths(files, folded))
        for warning in warnings where warned.insert(warning).inserted {
            writeToStandardError("swheap: warning: \(warning)\n")
        }
        guard !files.isEmpty else { throw DumpError(path: directory, problem: .noDumps) }
        var assembler = ProcessAssembler(files: files)
        for (file, dump) in zip(files, folded) { assembler.add(dump, file: file) }
        var store = assembler.finish(directory: directory)
        store.warnings = warnings
        return Refresh(store: store, newFiles: decoded, removedFiles: removed,
                       bytesRead: epochBytesRead + logs.bytesRead - before)
    }

    private func logPaths(_ files: [DumpFileName], _ dumps: [Dump]) -> Set<String> {
        Set(zip(files, dumps).compactMap { file, dump in dump.log.map { DumpReader.logPath($0, besideFile: file.path) } })
    }
}
