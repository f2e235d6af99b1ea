/// One stored version of a record inside a collection.
///
/// Every upsert appends a new row with the next `RowID` of its collection and tombstones the
/// previous one, so row ids only grow and are never reused, even across restarts (the next id is
/// persisted with every write). Distinct from `RecordID`, the user's key.
public struct RowID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }
    public static func < (a: RowID, b: RowID) -> Bool { a.rawValue < b.rawValue }
    public var next: RowID { RowID(rawValue + 1) }
    public var description: String { "row \(rawValue)" }
}
