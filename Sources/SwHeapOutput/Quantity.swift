// The one formatter of sizes, rates and durations for people, without Foundation:
// "4.1 MiB", "+1.2 MiB/min", "97%", "75.3s".

import SwHeapRanking

enum Quantity {
    /// How many decimals a scaled size gets.
    enum Precision: Sendable {
        /// One below 100, none above ("4.1 MiB", "123 KiB"): reports, where width matters.
        case compact
        /// Always one ("123.4 KiB"): the dumps listing, where columns line up by the point.
        case tenths
    }

    /// Binary units; whole bytes below 1 KiB ("812 B"). A non-finite estimate shows as 0 B.
    static func bytes(_ value: Double, precision: Precision = .compact) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        let finite = value.isFinite ? value : 0
        var magnitude = abs(finite), unit = 0
        while magnitude >= 1024 && unit < units.count - 1 { magnitude /= 1024; unit += 1 }
        if unit == 0 {
            let whole = Int(saturating: magnitude)
            return (finite < 0 && whole != 0 ? "-" : "") + "\(whole) B"
        }
        let sign = finite < 0 ? "-" : ""
        if precision == .compact && magnitude >= 99.95 { return sign + "\(Int(saturating: magnitude)) " + units[unit] }
        return sign + tenths(magnitude) + " " + units[unit]
    }

    /// The unreferenced column: bytes, or the objects when they hold none (`malloc(0)`
    /// blocks, which LeakSanitizer reports as leaks of 0 bytes); "-" when not scanned.
    static func unreferenced(bytes: Double?, objects: Double?) -> String {
        guard let bytes else { return "-" }
        if bytes == 0, let objects, objects >= 0.5 {
            let count = Int(saturating: objects.rounded())
            return count == 1 ? "1 object" : "\(count) objects"
        }
        return self.bytes(bytes)
    }

    /// A signed rate in the unit that gives a readable number: per second, minute or hour.
    static func rate(_ bytesPerSecond: Double) -> String {
        let sign = bytesPerSecond < 0 ? "-" : "+"
        let perSecond = abs(bytesPerSecond)
        if perSecond == 0 { return "0 B/s" }
        if perSecond >= 1024 * 1024 { return sign + bytes(perSecond) + "/s" }
        if perSecond * 60 >= 1024 { return sign + bytes(perSecond * 60) + "/min" }
        return sign + bytes(perSecond * 3600) + "/h"
    }

    /// The growth column of a site: the rate its `growing` verdict rests on and the epochs it
    /// is measured over ("+4.1 MiB/min, epochs 5–24"); "-" for any other verdict, which claims
    /// no growth (their rates, since a plateau or over the second half, are in the JSON).
    static func growth(_ v: SiteVerdict) -> String {
        guard v.verdict == .growing else { return "-" }
        let rate = Self.rate(v.growthBytesPerSecond)
        guard let window = v.assessment.growthWindow else { return rate }
        return rate + ", epochs \(window.lowerBound)–\(window.upperBound)"
    }

    /// 0.97 → "97%".
    static func percent(_ fraction: Double) -> String {
        "\(Int(saturating: fraction * 100))%"
    }

    /// 0.3456 → "34.6%": shares that need one decimal (flame graph details).
    static func percentTenths(_ fraction: Double) -> String {
        guard fraction.isFinite else { return "?%" }
        return (fraction < 0 ? "-" : "") + tenths(abs(fraction) * 100) + "%"
    }

    /// A count of objects: whole numbers, thousands grouped ("12,345"); estimates are rounded.
    static func count(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 9e18 else { return "?" }
        let whole = Int(value.rounded())
        var digits = String(abs(whole)), grouped = ""
        while digits.count > 3 { grouped = "," + digits.suffix(3) + grouped; digits.removeLast(3) }
        return (whole < 0 ? "-" : "") + digits + grouped
    }

    /// 7.25 → "7.3s"; 75 → "1m15s"; 3725 → "1h02m05s"; "?" when unknown.
    static func seconds(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        if seconds < 60 { return tenths(seconds) + "s" }
        let whole = Int(saturating: seconds)
        let (hours, minutes, secs) = (whole / 3600, whole / 60 % 60, whole % 60)
        let two = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
        return hours > 0 ? "\(hours)h\(two(minutes))m\(two(secs))s" : "\(minutes)m\(two(secs))s"
    }

    /// A duration in ns as milliseconds with one decimal: 4_061_000 → "4.1 ms".
    static func milliseconds(_ ns: UInt64) -> String { tenths(Double(ns) / 1e6) + " ms" }

    /// 0.97 → "0.97": two decimals, always both digits.
    static func hundredths(_ value: Double) -> String {
        let hundredths = Int(saturating: value * 100)
        return "\(hundredths / 100)." + (hundredths % 100 < 10 ? "0" : "") + "\(hundredths % 100)"
    }

    /// One decimal of a non-negative value: 4.06 → "4.1".
    static func tenths(_ value: Double) -> String {
        let tenths = Int(saturating: value * 10)
        return "\(tenths / 10).\(tenths % 10)"
    }
}
