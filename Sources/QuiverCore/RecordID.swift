/// The user's primary key for a record. Upserting an existing `RecordID` replaces the record.
public struct RecordID: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    CustomStringConvertible, ExpressibleByIntegerLiteral
{
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }
    public static func < (a: RecordID, b: RecordID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}
