// Writing a profile to disk: gzip-compressed protobuf, written atomically (FileIO), so a
// failed run leaves any previous file intact.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import SwHeapDump
import SwHeapSystem
import SwiftProtobuf

public enum PprofFile {
    public static func encode(_ profile: Perftools_Profiles_Profile) throws(PprofError) -> [UInt8] {
        let bytes: [UInt8]
        do { bytes = try profile.serializedBytes() } catch {
            throw .cannotWrite(path: "(profile)", reason: "protobuf encoding failed: \(error)")
        }
        do { return try Zlib.compress(bytes, wrapper: .gzip) } catch {
            throw .cannotWrite(path: "(profile)", reason: error.description)
        }
    }

    public static func write(_ profile: Perftools_Profiles_Profile, to path: String) throws(PprofError) {
        let bytes = try encode(profile)
        do throws(SystemError) {
            try FileIO.writeAtomically(bytes, to: path)
        } catch {
            throw .cannotWrite(path: path, reason: error.reason)
        }
    }

    /// Reads a profile, gzip-compressed or not.
    public static func read(from path: String) throws -> Perftools_Profiles_Profile {
        let bytes = try FileIO.read(path: path)
        let raw = bytes.starts(with: [0x1f, 0x8b]) ? try Zlib.decompress(bytes) : bytes
        do { return try Perftools_Profiles_Profile(serializedBytes: raw) } catch {
            throw PprofError.cannotRead(path: path, reason: "not a pprof profile: \(error)")
        }
    }
}
