import QuiverCore

/// Where a live row is in memory: its segment and its local row in the segment.
///
/// Segment ids, not positions, so that a location stays valid when other segments are added or
/// compacted away; compaction rewrites the locations of the rows it moves.
struct RowLocation: Hashable, Sendable {
    var segment: SegmentID
    var row: Int
}

/// A location inside one `CollectionView`: the segment's position in the view and the local row.
/// Scans report it packed into an `Int64` (position in the high 32 bits).
struct ViewLocation: Hashable, Sendable {
    var position: Int
    var row: Int

    init(position: Int, row: Int) {
        self.position = position
        self.row = row
    }

    init(packed: Int64) {
        position = Int(packed >> 32)
        row = Int(packed & 0xFFFF_FFFF)
    }

    static func base(ofPosition position: Int) -> Int64 { Int64(position) << 32 }
}
