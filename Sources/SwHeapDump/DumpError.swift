// Everything that can be wrong with a dump file or a dump directory, as one typed error.
// The description is a single line that starts with the path, so a user knows which file
// to look at (or delete) and why.

import SwHeapSystem

public struct DumpError: SwHeapError, Equatable {
    /// The file or directory the problem is in.
    public var path: String
    public var problem: Problem

    public init(path: String, problem: Problem) {
        self.path = path; self.problem = problem
    }

    public indirect enum Problem: Equatable, Sendable {
        // Reading the file system.
        case unreadable(reason: String)
        case unwritable(reason: String)
        case missingDirectory
        case notADirectory
        case noDumps
        // The fixed header.
        case truncatedHeader(size: Int)
        case badMagic
        case unsupportedVersion(UInt32)
        case nameMismatch(namePID: Int32, nameEpoch: UInt64, headerPID: Int32, headerEpoch: UInt64)
        // Section framing.
        case truncatedSectionHeader(offset: Int, left: Int)
        case sectionPastEnd(section: String, length: UInt64, left: Int)
        case duplicateSection(String)
        case missingEnd
        case dataAfterEnd(bytes: Int)
        case nonEmptyEnd(length: UInt64)
        // Section contents.
        case truncatedSection(section: String, needs: UInt64, left: Int)
        case absurdCount(section: String, count: UInt32, minimumBytes: UInt64, left: Int)
        case trailingBytes(section: String, bytes: Int)
        case zeroStackID
        case duplicateStackID(UInt32)
        case liveForUnknownStack(UInt32)
        // Format v2.
        case missingSection(String)
        case badLogMagic
        case allocForUnknownStack(UInt32)
        /// A problem inside one chunk of a stack log.
        case inChunk(String, Problem)
        case badCompression(what: String, ZlibError)
        case cohortForUnknownStack(UInt32, log: String, length: UInt64)
        /// The log is shorter than the length an epoch file names (the log was cut).
        case logShorterThanNamed(log: String, named: UInt64, complete: UInt64)
        /// A log chunk crosses the length an epoch file names.
        case logLengthNotAtChunk(log: String, named: UInt64, chunkEnd: UInt64)
        /// A field outside what docs/FORMAT.md allows (DumpValidation).
        case invalidField(field: String, value: String, rule: String)
        /// Two files of one process disagree (HeapStoreLoader).
        case inconsistent(field: String, rule: String, other: String)
    }

    public var description: String { "\(path): \(problem)" }

    /// The file is cut short or was not finished: what a writer killed mid-write leaves (a
    /// last epoch like this is skipped with a warning), as opposed to a damaged file.
    public var isIncomplete: Bool {
        switch problem {
        case .truncatedHeader, .truncatedSectionHeader, .sectionPastEnd, .missingEnd, .logShorterThanNamed,
             .badCompression(_, .truncated):
            return true
        default:
            return false
        }
    }
}

extension DumpError.Problem: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unreadable(let reason):
            return "cannot read: \(reason)"
        case .unwritable(let reason):
            return "cannot write: \(reason)"
        case .missingDirectory:
            return "no such directory"
        case .notADirectory:
            return "not a directory"
        case .noDumps:
            return "no dump files (<pid>.<epoch>.swheap) in this directory"
        case .truncatedHeader(let size):
            return "truncated header (file has \(size) bytes, header needs \(DumpLayout.headerSize))"
        case .badMagic:
            return "not a swheap dump (bad magic, expected \(String(decoding: DumpLayout.magic, as: UTF8.self)))"
        case .unsupportedVersion(let version):
            return "unsupported format version \(version) (this swheap reads versions \(DumpLayout.oldestVersion) to \(DumpLayout.newestReadableVersion))"
        case .nameMismatch(let namePID, let nameEpoch, let headerPID, let headerEpoch):
            return "file name says pid \(namePID) epoch \(nameEpoch) but the header says pid \(headerPID) epoch \(headerEpoch)"
        case .truncatedSectionHeader(let offset, let left):
            return "truncated section header at offset \(offset) (needs \(DumpLayout.sectionHeaderSize) bytes, \(left) left)"
        case .sectionPastEnd(let section, let length, let left):
            return "truncated \(section) section (needs \(length) bytes, \(left) left)"
        case .duplicateSection(let section):
            return "duplicate \(section) section"
        case .missingEnd:
            return "missing END section (file is incomplete)"
        case .dataAfterEnd(let bytes):
            return "\(bytes) bytes after the END section"
        case .nonEmptyEnd(let length):
            return "END section has a body of \(length) bytes (must be empty)"
        case .truncatedSection(let section, let needs, let left):
            return "truncated \(section) section (needs \(needs) bytes, \(left) left)"
        case .absurdCount(let section, let count, let minimumBytes, let left):
            return "\(section) count \(count) cannot fit (needs at least \(minimumBytes) bytes, \(left) left)"
        case .trailingBytes(let section, let bytes):
            return "\(bytes) unexpected bytes at the end of the \(section) section"
        case .zeroStackID:
            return "STACKS section has a stack with id 0 (ids must be nonzero)"
        case .duplicateStackID(let id):
            return "STACKS section lists stack id \(id) twice"
        case .liveForUnknownStack(let id):
            return "LIVE section refers to stack id \(id), which STACKS does not list"
        case .badLogMagic:
            return "not a swheap stack log (bad magic, expected \(String(decoding: DumpLayout.logMagic, as: UTF8.self)))"
        case .allocForUnknownStack(let id):
            return "ALLOC section refers to stack id \(id), which no STACKS section of the log lists"
        case .inChunk(let chunk, let problem):
            return "\(chunk): \(problem)"
        case .missingSection(let section):
            return "missing \(section) section"
        case .badCompression(let what, let error):
            return "cannot inflate the \(what): \(error)"
        case .cohortForUnknownStack(let id, let log, let length):
            return "COHORTS section refers to stack id \(id), which \(log) does not list in its first \(length) bytes"
        case .logShorterThanNamed(let log, let named, let complete):
            return "LOG length \(named) is beyond the end of \(log)'s complete chunks (\(complete) bytes): the log was cut"
        case .logLengthNotAtChunk(let log, let named, let chunkEnd):
            return "LOG length \(named) falls inside a chunk of \(log) (the chunk ends at \(chunkEnd))"
        case .invalidField(let field, let value, let rule):
            return "\(field) is \(value) (\(rule))"
        case .inconsistent(let field, let rule, let other):
            return "\(field) \(rule) \(other)"
        }
    }
}
