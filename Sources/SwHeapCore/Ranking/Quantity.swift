// Human-readable sizes and rates without Foundation: "4.1 MiB", "+1.2 MiB/min".

public enum Quantity {
    /// Binary units, one decimal below 100 ("812 B", "4.1 MiB", "123 KiB").
    public static func bytes(_ value: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var magnitude = abs(value), unit = 0
        while magnitude >= 1024 && unit < units.count - 1 { magnitude /= 1024; unit += 1 }
        let sign = value < 0 ? "-" : ""
        if unit == 0 { return "\(sign)\(Int(magnitude.rounded())) B" }
        return sign + decimal(magnitude) + " " + units[unit]
    }

    /// A signed rate in the unit that gives a readable number: per second, minute or hour.
    public static func rate(_ bytesPerSecond: Double) -> String {
        let sign = bytesPerSecond < 0 ? "-" : "+"
        let perSecond = abs(bytesPerSecond)
        if perSecond == 0 { return "0 B/s" }
        if perSecond >= 1024 * 1024 { return sign + bytes(perSecond) + "/s" }
        if perSecond * 60 >= 1024 { return sign + bytes(perSecond * 60) + "/min" }
        return sign + bytes(perSecond * 3600) + "/h"
    }

    /// 0.97 → "97%".
    public static func percent(_ fraction: Double) -> String {
        "\(Int((fraction * 100).rounded()))%"
    }

    /// One decimal below 100, none above.
    static func decimal(_ value: Double) -> String {
        if value >= 99.95 { return "\(Int(value.rounded()))" }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
