/// A segment of a collection: numbered in creation order, never reused within the collection.
public struct SegmentID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: SegmentID, b: SegmentID) -> Bool { a.rawValue < b.rawValue }
    public var next: SegmentID { SegmentID(rawValue + 1) }
    public var description: String { "segment \(rawValue)" }
}

/// Where a segment is in its life.
///
/// `growing` takes every new write and is searched exactly; once full (or old, or on request) it
/// is `sealed` and still searched exactly until a background build (`indexing`) turns it
/// `indexed`. Compaction replaces segments by a new one; the old ones are `dropped`.
public enum SegmentPhase: String, Sendable, Hashable, Codable, CaseIterable {
    case growing
    case sealed
    case indexing
    case indexed
    case dropped
}

/// What `describe` reports about one segment.
public struct SegmentInfo: Sendable, Hashable {
    public var id: SegmentID
    public var phase: SegmentPhase
    /// Rows stored, including deleted ones not yet compacted away.
    public var rows: Int
    public var deletedRows: Int
    /// Bytes the segment holds in memory (vectors, or IVF lists, plus ids).
    public var memoryBytes: Int
    /// Codes and lists of an indexed segment.
    public var codes: IVFCodes?
    public var nlist: Int?
    public var createdAtMilliseconds: Int64
    public var indexedAtMilliseconds: Int64?
    public var buildMilliseconds: Int64?
    /// Bytes of the segment's index file (indexed segments only).
    public var diskBytes: Int?

    public init(
        id: SegmentID, phase: SegmentPhase, rows: Int, deletedRows: Int, memoryBytes: Int, codes: IVFCodes?, nlist: Int?,
        createdAtMilliseconds: Int64, indexedAtMilliseconds: Int64?, buildMilliseconds: Int64?
    ) {
        self.id = id
        self.phase = phase
        self.rows = rows
        self.deletedRows = deletedRows
        self.memoryBytes = memoryBytes
        self.codes = codes
        self.nlist = nlist
        self.createdAtMilliseconds = createdAtMilliseconds
        self.indexedAtMilliseconds = indexedAtMilliseconds
        self.buildMilliseconds = buildMilliseconds
    }
}
