/// An inclusive range of row ids, `first...last`: how a segment manifest names the rows of a
/// segment (docs/architecture.md, "Segment manifest"). Row ids only grow and a segment is sealed
/// from consecutive rows, so a few ranges describe any segment.
///
/// Encoded as the two-element array `[first, last]`, the manifest's JSON form.
public struct RowRange: Hashable, Sendable, Codable, CustomStringConvertible {
    public var first: RowID
    public var last: RowID

    public init(_ first: RowID, _ last: RowID) {
        precondition(first <= last, "an empty row range")
        self.first = first
        self.last = last
    }

    public func contains(_ row: RowID) -> Bool { first <= row && row <= last }

    public var description: String { "rows \(first.rawValue)...\(last.rawValue)" }

    /// The fewest ranges that hold exactly `rows`, which must ascend.
    public static func covering(_ rows: [RowID]) -> [RowRange] {
        var ranges: [RowRange] = []
        for row in rows {
            if let last = ranges.last, last.last.rawValue + 1 == row.rawValue {
                ranges[ranges.count - 1].last = row
            } else {
                precondition(ranges.last.map { $0.last < row } ?? true, "row ids out of order")
                ranges.append(RowRange(row, row))
            }
        }
        return ranges
    }

    /// The sorted, coalesced union of `ranges` (adjacent and overlapping ranges merge).
    public static func union(_ ranges: [RowRange]) -> [RowRange] {
        var result: [RowRange] = []
        for range in ranges.sorted(by: { $0.first < $1.first }) {
            if let last = result.last, range.first.rawValue <= last.last.rawValue + 1 {
                result[result.count - 1].last = max(last.last, range.last)
            } else {
                result.append(range)
            }
        }
        return result
    }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        let first = try container.decode(UInt64.self)
        let last = try container.decode(UInt64.self)
        guard container.isAtEnd, first <= last else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "a row range is [first, last] with first <= last"))
        }
        self.init(RowID(first), RowID(last))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(first.rawValue)
        try container.encode(last.rawValue)
    }
}
