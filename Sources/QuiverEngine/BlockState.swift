import QuiverIndex

/// One `VectorBlock` of a collection with its published row count and tombstones.
///
/// A value type: a reader's `CollectionView` holds copies, and the writer's next change to
/// `deleted` copies the bitmap instead of changing what a reader is scanning.
struct BlockState: Sendable {
    let block: VectorBlock
    /// Rows written and published; rows at or above it are not yet visible.
    var count = 0
    /// Tombstones: bit `row` of word `row / 64` is set for a deleted or replaced row. Empty until
    /// the block's first tombstone, so that blocks without deletes cost nothing to scan around.
    var deleted: [UInt64] = []
    var deletedCount = 0

    init(block: VectorBlock) { self.block = block }

    var liveCount: Int { count - deletedCount }
    var isFull: Bool { count == block.capacity }

    func isDeleted(_ row: Int) -> Bool {
        !deleted.isEmpty && deleted[row >> 6] & (1 << UInt64(row & 63)) != 0
    }

    mutating func markDeleted(_ row: Int) {
        precondition(row < count && !isDeleted(row), "row \(row) deleted twice or not published")
        if deleted.isEmpty { deleted = Array(repeating: 0, count: (block.capacity + 63) / 64) }
        deleted[row >> 6] |= 1 << UInt64(row & 63)
        deletedCount += 1
    }

    /// Capacity of the `index`-th block of a collection: blocks start small, so that small
    /// collections stay small, and double up to about 32 MiB of vectors.
    static func capacity(blockIndex: Int, dimension: Int) -> Int {
        let firstRows = 1_024
        let bytesMax = 32 << 20
        let rowsMax = max(firstRows, bytesMax / (dimension * MemoryLayout<Float>.stride))
        let shift = min(blockIndex, 20)
        return min(firstRows << shift, rowsMax)
    }
}
