// Writing a profile to disk: gzip-compressed protobuf, written to a temporary file in the
// target's directory and renamed over it, so a failed run leaves any previous file intact.
import Foundation
import SwiftProtobuf

public enum PprofFile {
    public static func encode(_ profile: Perftools_Profiles_Profile) throws(PprofError) -> [UInt8] {
        let bytes: [UInt8]
        do { bytes = try profile.serializedBytes() } catch {
            throw .cannotWrite(path: "(profile)", reason: "protobuf encoding failed: \(error)")
        }
        do { return try Gzip.compress(bytes) } catch {
            throw .cannotWrite(path: "(profile)", reason: error.description)
        }
    }

    public static func write(_ profile: Perftools_Profiles_Profile, to path: String) throws(PprofError) {
        let bytes = try encode(profile)
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try Data(bytes).write(to: temporary, options: [.withoutOverwriting])
        } catch {
            throw .cannotWrite(path: path, reason: Self.reason(error))
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw .cannotWrite(path: path, reason: reason)
        }
    }

    public static func read(from path: String) throws -> Perftools_Profiles_Profile {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let bytes = [UInt8](data)
        let raw = bytes.starts(with: [0x1f, 0x8b]) ? try Gzip.decompress(bytes) : bytes
        return try Perftools_Profiles_Profile(serializedBytes: raw)
    }

    private static func reason(_ error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }
}
