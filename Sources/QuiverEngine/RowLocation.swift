/// Where a row lives in memory: its block in the collection's block list and its row in the block.
/// Scans report it packed into an `Int64` (block in the high 32 bits).
struct RowLocation: Hashable, Sendable {
    var block: Int
    var row: Int

    init(block: Int, row: Int) {
        self.block = block
        self.row = row
    }

    init(packed: Int64) {
        block = Int(packed >> 32)
        row = Int(packed & 0xFFFF_FFFF)
    }

    static func locationBase(ofBlock block: Int) -> Int64 { Int64(block) << 32 }
}
