// Text tables: the report table and the dumps listing line up their columns here.

/// The one column aligner: pads each cell but the last of a row to its column's width, so
/// the last column (free text) never carries trailing spaces.
struct Columns: Sendable {
    enum Alignment: Sendable { case left, right }

    /// Alignment per column; columns past the end are right-aligned (numbers).
    var alignments: [Alignment]

    init(_ alignments: [Alignment] = []) { self.alignments = alignments }

    /// The rows with their cells padded.
    func pad(_ rows: [[String]]) -> [[String]] {
        guard let columnCount = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: columnCount)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { column, cell in
                if column == row.count - 1 { return cell }
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                let alignment = column < alignments.count ? alignments[column] : .right
                return alignment == .right ? padding + cell : cell + padding
            }
        }
    }

    /// The padded rows as lines joined by two spaces.
    func render(_ rows: [[String]]) -> String {
        pad(rows).map { $0.joined(separator: "  ") + "\n" }.joined()
    }
}
