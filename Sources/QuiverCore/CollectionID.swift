/// The internal, never-reused number of a collection; prefixes every storage key of its data.
///
/// Names can be reused after a drop, ids cannot, so the keys of a dropped collection can never be
/// confused with those of a new collection of the same name.
public struct CollectionID: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    CustomStringConvertible
{
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: CollectionID, b: CollectionID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "collection #\(rawValue)" }
}
