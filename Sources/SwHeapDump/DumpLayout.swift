// The dump format's constants and record layouts, all from the C header the shim writes with
// (Sources/CSwHeapFormat/include/swheap_format.h): Swift states no tag, flag, size or offset
// of its own. The format is little-endian and so is every host swheap runs on (the header
// asserts it), so records are loaded as the C structs they are.

import CSwHeapFormat

public enum DumpLayout {
    public static let magic: [UInt8] = Array(SW_FORMAT_MAGIC.utf8)
    public static let version: UInt32 = SW_FORMAT_VERSION
    public static let headerSize = Int(SW_FORMAT_HEADER_SIZE)
    public static let sectionHeaderSize = Int(SW_FORMAT_SECTION_SIZE)

    public static let flagFinal: UInt32 = SW_FLAG_FINAL
    public static let flagScanned: UInt32 = SW_FLAG_SCANNED
    public static let flagTruncated: UInt32 = SW_FLAG_TRUNCATED
    public static let flagReachability: UInt32 = SW_FLAG_REACHABILITY

    /// The known section tags.
    public enum Tag: CaseIterable, Sendable {
        case exe, cmdline, modules, stacks, live, end

        public var rawValue: UInt32 {
            switch self {
            case .exe: SW_TAG_EXE
            case .cmdline: SW_TAG_CMDLINE
            case .modules: SW_TAG_MODULES
            case .stacks: SW_TAG_STACKS
            case .live: SW_TAG_LIVE
            case .end: SW_TAG_END
            }
        }

        public init?(rawValue: UInt32) {
            guard let tag = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
            self = tag
        }

        /// The section's name in docs/FORMAT.md and in error messages.
        public var name: String {
            switch self {
            case .exe: "EXE"
            case .cmdline: "CMDLINE"
            case .modules: "MODULES"
            case .stacks: "STACKS"
            case .live: "LIVE"
            case .end: "END"
            }
        }
    }

    /// Fixed sizes of repeated records, used to reject counts that cannot fit.
    public static let stackRecordSize = UInt64(SW_FORMAT_STACK_SIZE)
    public static let liveRecordSize = UInt64(SW_FORMAT_LIVE_SIZE)
    static let moduleRecordMinimum = UInt64(SW_FORMAT_MODULE_MINIMUM)
    static let segmentRecordSize = UInt64(SW_FORMAT_SEGMENT_SIZE)
}

/// The C record types under Swift names.
public typealias RawHeader = sw_format_header
public typealias RawSection = sw_format_section
public typealias RawSegment = sw_format_segment
public typealias RawStack = sw_format_stack
public typealias RawLive = sw_format_live
