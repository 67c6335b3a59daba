// A process's note, `<pid>.<epoch>.note` in the dump directory: what the shim writes (as the
// process still can) before the process changes its effective user, and what it appends when
// it later cannot write a dump (docs/FORMAT.md, "Notes"). The store lists every noted process
// that left no dump after its note's epoch, with the note's reasons, so a worker that wrote
// nothing is named in the report instead of missing from it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct ProcessNote: Sendable, Equatable {
    public var pid: Int32
    public var command: String
    /// The shim's start in that image (CLOCK_MONOTONIC ns): the same as its dumps' headers.
    public var startNs: UInt64
    /// The first epoch after the change.
    public var epoch: UInt64
    public var fromUID: UInt32
    public var toUID: UInt32
    /// Where the process's dumps go after the change, relative to the dump directory.
    public var directory: String
    /// One per cause: "errno N (text) as uid U: ...", in the order they happened.
    public var errors: [String]
    public var path: String

    /// Nil for anything that is not a note of this version.
    public init?(text: String, path: String) {
        var fields: [String: String] = [:]
        var errors: [String] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.first == "swheap-note 1" else { return nil }
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            if parts[0] == "error" {
                // error <errno> <uid> <text>
                let rest = parts[1].split(separator: " ", maxSplits: 2)
                if rest.count == 3, let code = Int32(rest[0]), let uid = UInt32(rest[1]) {
                    errors.append("errno \(code) as uid \(uid): \(rest[2])")
                }
            } else {
                fields[String(parts[0])] = String(parts[1])
            }
        }
        let uids = fields["uid"]?.split(separator: " ").compactMap { UInt32($0) } ?? []
        guard let pidText = fields["pid"], let pid = Int32(pidText), let epochText = fields["epoch"],
              let epoch = UInt64(epochText), uids.count == 2 else { return nil }
        self.pid = pid
        self.command = fields["command"] ?? "?"
        self.startNs = fields["start_ns"].flatMap { UInt64($0) } ?? 0
        self.epoch = epoch
        self.fromUID = uids[0]
        self.toUID = uids[1]
        self.directory = fields["dir"] ?? "."
        self.errors = errors
        self.path = path
    }

    /// The notes in `directory` (not its subdirectories: only a process still able to write
    /// there leaves one), unreadable ones skipped.
    static func load(directory: String) -> [ProcessNote] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var notes: [ProcessNote] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard name.hasSuffix(".note"), !name.hasPrefix(".") else { continue }
            let path = directory + "/" + name
            guard let text = try? readSmallFile(path), let note = ProcessNote(text: text, path: path) else { continue }
            notes.append(note)
        }
        return notes.sorted { ($0.pid, $0.epoch) < ($1.pid, $1.epoch) }
    }

    private static func readSmallFile(_ path: String) throws -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65536 {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A process that started under the profiler, changed user, and left no dump after that.
public struct SilentProcess: Sendable, Equatable {
    public var note: ProcessNote
    /// Why, as far as the note knows.
    public var reason: String

    /// What a list of `count` such processes is headed with.
    public static func heading(count: Int) -> String {
        "\(count) process(es) started under swheap but left no dump:"
    }

    public var line: String {
        "pid \(note.pid) (\(note.command)): changed from uid \(note.fromUID) to uid \(note.toUID) at epoch \(note.epoch) "
            + "and left no dump after it (dumps were to go to \(note.directory)/): \(reason)"
    }
}

extension HeapStore {
    /// The noted processes with no epoch at or after their note's, with the reason.
    static func silentProcesses(notes: [ProcessNote], processes: [ProcessHeap]) -> [SilentProcess] {
        notes.compactMap { note in
            let image = processes.first { $0.pid == note.pid && $0.epochs.first?.startMonotonicNs == note.startNs }
            if let image, image.epochs.contains(where: { UInt64($0.epoch) >= note.epoch }) { return nil }
            let reason = note.errors.isEmpty
                ? "no error was recorded: it ended or was killed before its first dump after the change"
                : note.errors.joined(separator: "; ")
            return SilentProcess(note: note, reason: reason)
        }
    }
}
