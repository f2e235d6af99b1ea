/// A set of a segment's local rows, one bit per row (bit `row & 63` of word `row >> 6`): what a
/// filter evaluates to, a segment's tombstones, a field column's nulls, and the rows a scan skips.
/// The one bitmap type of the project: nothing else tests or sets row bits by hand. The scan
/// kernels read `words` as they are (the shim's `excluded` argument).
///
/// Bits at or above `count` are always clear, so `cardinality` and `complemented()` need no mask
/// at their call sites.
public struct RowBitmap: Sendable, Hashable {
    /// Rows the bitmap covers: `0..<count`.
    public private(set) var count: Int
    public private(set) var words: [UInt64]

    /// An empty set over `count` rows.
    public init(count: Int) {
        precondition(count >= 0)
        self.count = count
        words = Array(repeating: 0, count: (count + 63) >> 6)
    }

    /// Every row of `0..<count`.
    public static func all(_ count: Int) -> RowBitmap {
        var bitmap = RowBitmap(count: count)
        for i in bitmap.words.indices { bitmap.words[i] = ~0 }
        bitmap.clearTail()
        return bitmap
    }

    /// Whether `row` is in the set; a row at or above `count` never is.
    public func contains(_ row: Int) -> Bool { row < count && words[row >> 6] & (1 << UInt64(row & 63)) != 0 }

    /// Covers `0..<newCount` (at least the current count); the new rows are not in the set.
    /// For bitmaps that follow an append-only column.
    public mutating func grow(to newCount: Int) {
        guard newCount > count else { return }
        count = newCount
        let wordsNeeded = (newCount + 63) >> 6
        if words.count < wordsNeeded { words.append(contentsOf: repeatElement(0, count: wordsNeeded - words.count)) }
    }

    /// Bytes the words take.
    public var memoryBytes: Int { words.capacity * 8 }

    public mutating func insert(_ row: Int) {
        precondition(row >= 0 && row < count)
        words[row >> 6] |= 1 << UInt64(row & 63)
    }

    /// Inserts every row in `rows` (each below `count`): the scalar indexes' postings and sorted
    /// orders. Not generic on purpose: a generic method of this module runs unspecialized when
    /// another module calls it, boxing every element — filtered searches over 100,000 passing
    /// rows spent 9 ms per query in `malloc` and `free` here once `RowBitmap` had moved to
    /// QuiverCore (`quiver-bench recall`, 200,000 rows, 50%).
    public mutating func insert(contentsOf rows: ArraySlice<UInt32>) {
        let count = self.count
        words.withUnsafeMutableBufferPointer { words in
            rows.withUnsafeBufferPointer { rows in
                for row in rows {
                    let row = Int(row)
                    precondition(row < count)
                    words[row >> 6] |= 1 << UInt64(row & 63)
                }
            }
        }
    }

    /// Inserts every row in `rows` (each below `count`).
    public mutating func insert<S: Sequence>(contentsOf rows: S) where S.Element: BinaryInteger {
        words.withUnsafeMutableBufferPointer { words in
            for row in rows {
                let row = Int(row)
                precondition(row >= 0 && row < count)
                words[row >> 6] |= 1 << UInt64(row & 63)
            }
        }
    }

    public mutating func formIntersection(_ other: RowBitmap) {
        precondition(other.count == count)
        for i in words.indices { words[i] &= other.words[i] }
    }

    public mutating func formUnion(_ other: RowBitmap) {
        precondition(other.count == count)
        for i in words.indices { words[i] |= other.words[i] }
    }

    /// Removes the rows set in `other`, which may cover more or fewer rows (a segment's
    /// tombstones cover its capacity, a filter's result its published rows).
    public mutating func subtract(_ other: RowBitmap) {
        for i in 0..<min(words.count, other.words.count) { words[i] &= ~other.words[i] }
    }

    /// The rows of `0..<count` not in the set.
    public func complemented() -> RowBitmap {
        var result = self
        for i in result.words.indices { result.words[i] = ~result.words[i] }
        result.clearTail()
        return result
    }

    /// The number of rows in the set.
    public var cardinality: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    /// The rows in the set, ascending.
    public var rows: [Int64] {
        var rows: [Int64] = []
        rows.reserveCapacity(cardinality)
        for (i, word) in words.enumerated() {
            var word = word
            while word != 0 {
                rows.append(Int64(i << 6 + word.trailingZeroBitCount))
                word &= word - 1
            }
        }
        return rows
    }

    private mutating func clearTail() {
        let tail = count & 63
        if tail != 0 { words[words.count - 1] &= (1 << UInt64(tail)) - 1 }
    }
}
