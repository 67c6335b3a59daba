// A pprof profile of a HeapDiff between two runs: inuse_objects and inuse_space per named
// stack, after minus before (negative where a site shrank, as `pprof -diff_base` shows).
// Addresses differ between runs, so locations carry names only (one per frame name and module).

import SwiftProtobuf

public enum DiffProfile {
    public static func build(_ diff: HeapDiff, comment: String) -> Perftools_Profiles_Profile {
        var strings = PprofStringTable()
        var profile = Perftools_Profiles_Profile()
        profile.sampleType = [("inuse_objects", "count"), ("inuse_space", "bytes")].map { type, unit in
            var value = Perftools_Profiles_ValueType()
            value.type = strings.index(type)
            value.unit = strings.index(unit)
            return value
        }
        profile.defaultSampleType = strings.index("inuse_space")
        var locationIDs: [FlameFrame: UInt64] = [:]
        for change in diff.changes {
            let values = [change.objects, change.bytes].map { $0.isFinite ? Int64(clamping: Int64(exactly: $0.rounded()) ?? 0) : 0 }
            if values.allSatisfy({ $0 == 0 }) { continue }
            var sample = Perftools_Profiles_Sample()
            sample.locationID = change.frames.reversed().map { frame in   // leaf first
                var key = frame
                key.verdict = nil
                if let id = locationIDs[key] { return id }
                let id = UInt64(profile.location.count + 1)
                var function = Perftools_Profiles_Function()
                function.id = id
                function.name = strings.index(frame.name)
                function.systemName = function.name
                function.filename = strings.index(frame.module)
                var line = Perftools_Profiles_Line()
                line.functionID = id
                var location = Perftools_Profiles_Location()
                location.id = id
                location.line = [line]
                profile.function.append(function)
                profile.location.append(location)
                locationIDs[key] = id
                return id
            }
            sample.value = values
            profile.sample.append(sample)
        }
        profile.comment = [strings.index(comment)]
        profile.stringTable = strings.strings
        return profile
    }
}
