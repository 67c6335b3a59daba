// Finds the dump files of a directory, decodes them (on all cores) and folds them per process.
// Decoding is the expensive part, so files are decoded in small parallel batches, each while
// the previous one is folded in (pid, image, epoch) order; at most two batches of decoded dumps
// are in memory at once.

import SwHeapDump
import SwHeapSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// A file whose name has the `<pid>.<epoch>.swheap` shape.
struct DumpFileName: Hashable, Sendable {
    var pid: Int32
    var epoch: UInt64
    var path: String
    /// The header's startMonotonicNs, once read: which image of the pid wrote the file.
    var imageStart: UInt64 = 0

    var image: ProcessImage { ProcessImage(pid: pid, start: imageStart) }

    /// Nil for anything that is not a finished dump (temporaries, dot-files, other files).
    init?(fileName: String, directory: String) {
        guard !fileName.hasPrefix(".") else { return nil }
        let parts = fileName.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2] == "swheap",
              parts[0].allSatisfy(\.isASCIIDigitCharacter), parts[1].allSatisfy(\.isASCIIDigitCharacter),
              let pid = Int32(parts[0]), let epoch = UInt64(parts[1]) else { return nil }
        self.pid = pid
        self.epoch = epoch
        self.path = directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
    }
}

extension DumpFileName {
    /// The order dumps are folded in: by process image, then epoch.
    static func foldsBefore(_ a: DumpFileName, _ b: DumpFileName) -> Bool {
        (a.pid, a.imageStart, a.epoch) < (b.pid, b.imageStart, b.epoch)
    }
}

/// Folds decoded dumps, given in `DumpFileName.foldsBefore` order, into one ProcessHeap per
/// program image; used by the one-shot load and by the watcher that reloads a live directory.
struct ProcessAssembler {
    private var builders: [ProcessImage: ProcessHeapBuilder] = [:]

    init(files: [DumpFileName]) {
        var epochCounts: [ProcessImage: Int] = [:]
        for file in files { epochCounts[file.image, default: 0] += 1 }
        for (image, count) in epochCounts { builders[image] = ProcessHeapBuilder(pid: image.pid, epochCount: count) }
    }

    mutating func add(_ dump: Dump, file: DumpFileName) {
        builders[file.image]!.add(dump, file: file.path)
    }

    /// Parents before children: by first dump time, then pid and image. With the processes
    /// the directory's notes name that left no dump after them.
    consuming func finish(directory: String) -> HeapStore {
        // Taken out of the dictionary so each builder is uniquely owned and builds in place.
        var processes = Array(builders.keys).map { builders.removeValue(forKey: $0)!.build() }
        processes.sort {
            ($0.epochs[0].wallTimeNs, $0.pid, $0.epochs[0].startMonotonicNs)
                < ($1.epochs[0].wallTimeNs, $1.pid, $1.epochs[0].startMonotonicNs)
        }
        var store = HeapStore(directory: directory, processes: processes)
        store.silentProcesses = HeapStore.silentProcesses(notes: ProcessNote.load(directory: directory), processes: processes)
        return store
    }
}

/// One program image that ran under a pid (exec without fork starts a new one).
struct ProcessImage: Hashable, Sendable {
    var pid: Int32
    var start: UInt64
}

private extension Character {
    var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}

enum HeapStoreLoader {
    static func load(directory: String, selection: EpochSelection) throws(DumpError) -> HeapStore {
        let listed = try listDumpFiles(directory: directory)
        guard !listed.isEmpty else { throw DumpError(path: directory, problem: .noDumps) }
        var warnings: [String] = []
        // A program that execs without forking (wrapper scripts, pyenv shims) keeps its pid but
        // restarts the shim: its dumps are a separate image, told apart by the shim start time.
        let newestOfPID = Dictionary(listed.map { ($0.pid, $0.epoch) }, uniquingKeysWith: max)
        var files: [DumpFileName] = []
        var headers: [String: DumpHeader] = [:]
        for var file in listed {
            do throws(DumpError) {
                let header = try DumpReader.readHeader(path: file.path)
                file.imageStart = header.startMonotonicNs
                headers[file.path] = header
                files.append(file)
            } catch where error.isIncomplete && newestOfPID[file.pid] == file.epoch {
                warnings.append(skipWarning(error))
            }
        }
        // Each image's dumps must reach its builder in epoch order.
        files.sort(by: DumpFileName.foldsBefore)
        try checkConsistency(files, headers)
        var lastDumps: [String: Dump] = [:]
        files = try dropIncompleteLastEpochs(files, decoded: &lastDumps, warnings: &warnings)
        files = selection.select(files)
        guard !files.isEmpty else { throw DumpError(path: directory, problem: .noDumps) }
        var assembler = ProcessAssembler(files: files)
        var logs = LogReplays()
        var currentLog: [ProcessImage: String] = [:]
        // Batch b + 1 is decoded on other threads while batch b is folded on this one.
        let batchSize = max(2, 2 * activeProcessors)
        let batches = stride(from: 0, to: files.count, by: batchSize).map {
            Array(files[$0..<min($0 + batchSize, files.count)])
        }
        var decoding = PendingDecode(batches[0], known: lastDumps)
        for b in batches.indices {
            let decoded = decoding.results()
            if b + 1 < batches.count { decoding = PendingDecode(batches[b + 1], known: lastDumps) }
            defer { decoding.wait() }  // never leave work running past an error
            for (file, result) in zip(batches[b], decoded) {
                let dump = try logs.complete(try result.get(), file: file)
                // An image's files come in epoch order and its logs rotate forward: once a file
                // names a newer log, the older one's replay (every stack) is never needed again.
                let log = dump.log.map { DumpReader.logPath($0, besideFile: file.path) }
                if let log, let previous = currentLog.updateValue(log, forKey: file.image), previous != log {
                    logs.forget(previous)
                }
                assembler.add(dump, file: file)
            }
        }
        for warning in warnings { writeToStandardError("swheap: warning: \(warning)\n") }
        var store = assembler.finish(directory: directory)
        store.warnings = warnings
        return store
    }

    /// The warning for a last epoch skipped because it is incomplete.
    static func skipWarning(_ error: DumpError) -> String {
        "skipped \(error.path), the incomplete last epoch of its process: \(error.problem)"
    }

    /// Decodes the newest file of each image (kept in `decoded`); one that is incomplete (cut
    /// short, or naming more of its log than was written) is what a writer killed mid-write
    /// leaves: it is dropped with a warning. Any other bad file stays an error.
    static func dropIncompleteLastEpochs(_ files: [DumpFileName], decoded: inout [String: Dump],
                                         warnings: inout [String]) throws(DumpError) -> [DumpFileName] {
        var dropped = Set<String>()
        for (i, file) in files.enumerated() where i + 1 == files.count || files[i + 1].image != file.image {
            do throws(DumpError) {
                let dump = try decodeFileOnly(file)
                if let log = dump.log {
                    let logPath = DumpReader.logPath(log, besideFile: file.path)
                    var info = stat()
                    if stat(logPath, &info) == 0 && UInt64(info.st_size) < log.length {
                        throw DumpError(path: file.path, problem: .logShorterThanNamed(
                            log: logPath, named: log.length, complete: UInt64(info.st_size)))
                    }
                }
                decoded[file.path] = dump
            } catch where error.isIncomplete && error.path == file.path {
                warnings.append(skipWarning(error))
                dropped.insert(file.path)
            }
        }
        return dropped.isEmpty ? files : files.filter { !dropped.contains($0.path) }
    }

    /// Files of one run (pid and start time), sorted by epoch, must agree with each other: a
    /// damaged rate, depth or clock would otherwise mix figures silently. (Runs of one pid may
    /// interleave their epochs: shims before first_free_epoch restarted at 1 after an exec.)
    static func checkConsistency(_ files: [DumpFileName], _ headers: [String: DumpHeader]) throws(DumpError) {
        for (earlier, later) in zip(files, files.dropFirst())
        where earlier.pid == later.pid && earlier.imageStart == later.imageStart {
            let a = headers[earlier.path]!, b = headers[later.path]!
            func broken(_ field: String, _ rule: String) -> DumpError {
                DumpError(path: later.path, problem: .inconsistent(field: field, rule: rule, other: earlier.path))
            }
            if b.rate != a.rate { throw broken("rate \(b.rate)", "differs from rate \(a.rate) of the same run in") }
            if b.maxDepth != a.maxDepth {
                throw broken("max_depth \(b.maxDepth)", "differs from max_depth \(a.maxDepth) of the same run in")
            }
            if b.monotonicNs < a.monotonicNs {
                throw broken("monotonic_ns \(b.monotonicNs)", "is before monotonic_ns \(a.monotonicNs) of the earlier epoch in")
            }
            if a.isFinal { throw broken("epoch \(later.epoch)", "follows the final dump of the same run in") }
        }
    }

    /// The dump files in `directory` and in its per-user subdirectories `uid-<N>` (where a
    /// process that changed user writes after the change: docs/FORMAT.md), unordered. A
    /// subdirectory this user cannot read is skipped with a warning on stderr.
    static func listDumpFiles(directory: String) throws(DumpError) -> [DumpFileName] {
        var files = try listOneDirectory(directory: directory)
        for name in try userSubdirectories(of: directory) {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            do throws(DumpError) {
                files += try listOneDirectory(directory: path)
            } catch {
                writeToStandardError("swheap: warning: skipped \(path): \(error.problem)\n")
            }
        }
        return files
    }

    /// The names of `directory`'s subdirectories `uid-<digits>` (real directories, not links).
    static func userSubdirectories(of directory: String) throws(DumpError) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard name.hasPrefix("uid-"), name.count > 4, name.dropFirst(4).allSatisfy(\.isASCIIDigitCharacter) else { continue }
            var info = stat()
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { names.append(name) }
        }
        return names.sorted()
    }

    static func listOneDirectory(directory: String) throws(DumpError) -> [DumpFileName] {
        var info = stat()
        if stat(directory, &info) != 0 {
            if errno == ENOENT { throw DumpError(path: directory, problem: .missingDirectory) }
            throw DumpError(path: directory, problem: .unreadable(reason: errnoText()))
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw DumpError(path: directory, problem: .notADirectory) }
        guard let handle = opendir(directory) else {
            throw DumpError(path: directory, problem: .unreadable(reason: errnoText()))
        }
        defer { closedir(handle) }
        var files: [DumpFileName] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if let file = DumpFileName(fileName: name, directory: directory) { files.append(file) }
        }
        return files
    }

    /// Decodes one file, without its log (v2 files are completed from their log in order, by
    /// `LogReplays`).
    static func decode(_ file: DumpFileName) -> Result<Dump, DumpError> {
        Result { () throws(DumpError) -> Dump in try decodeFileOnly(file) }
    }

    static func decodeFileOnly(_ file: DumpFileName) throws(DumpError) -> Dump {
            let dump = try DumpReader.readFileOnly(path: file.path)
            // The name decides which process and epoch a file is; a header that disagrees means
            // a renamed or damaged file, and trusting either would silently mix processes.
            if dump.header.pid != file.pid || dump.header.epoch != file.epoch {
                throw DumpError(path: file.path, problem: .nameMismatch(
                    namePID: file.pid, nameEpoch: file.epoch,
                    headerPID: dump.header.pid, headerEpoch: dump.header.epoch))
            }
            return dump
    }

    static var activeProcessors: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// The decoding of one batch, started on a global queue and spread over all cores.
private final class PendingDecode: @unchecked Sendable {
    // Each slot is written by exactly one worker and read only after `group` is done.
    private let slots: UnsafeMutableBufferPointer<Result<Dump, DumpError>?>
    private let group = DispatchGroup()

    /// `known`: files decoded already, by path.
    init(_ files: [DumpFileName], known: [String: Dump] = [:]) {
        slots = .allocate(capacity: files.count)
        slots.initialize(repeating: nil)
        DispatchQueue.global().async(group: group) { [self] in
            DispatchQueue.concurrentPerform(iterations: files.count) { i in
                self.slots[i] = known[files[i].path].map { .success($0) } ?? HeapStoreLoader.decode(files[i])
            }
        }
    }

    deinit {
        group.wait()
        slots.deinitialize()
        slots.deallocate()
    }

    func wait() { group.wait() }

    /// Waits for the batch and hands its results over, in the order of the files.
    func results() -> [Result<Dump, DumpError>] {
        group.wait()
        let taken = slots.map { $0! }
        for i in slots.indices { slots[i] = nil }  // the builder holds the only copy from here
        return taken
    }
}
