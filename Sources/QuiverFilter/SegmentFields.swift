import QuiverCore

/// The field values of a sealed segment, frozen, with the indexes that let a filter find its rows
/// without visiting every row:
/// - numbers (`int64`, `double`): the non-null rows sorted by value, so a comparison or an `in`
///   list is one or a few binary searches and a copy of the matching run;
/// - strings, bools and tags: the dictionary in byte order and a posting list (ascending rows)
///   per code, so equality, `in`, `contains…` and `like` (a prefix is a range of sorted strings)
///   cost the rows they match, not the rows of the segment.
///
/// Built once, when the segment's index is built or when the database opens (from the stored
/// field values; see docs/filters.md for why they are rebuilt rather than stored).
public struct SegmentFields: Sendable {
    public let columns: FieldColumns
    let indexes: [FieldIndex]

    public var count: Int { columns.count }

    /// Freezes `columns`: sorts every dictionary (re-coding the rows), and indexes every field.
    public init(freezing columns: FieldColumns) {
        var frozen: [FieldColumn] = []
        var indexes: [FieldIndex] = []
        for column in columns.columns {
            var column = column
            if column.type == .string || column.type == .tags, !column.dictionary.isSorted {
                let (dictionary, newCodes) = column.dictionary.sorted()
                column.dictionary = dictionary
                for i in column.codes.indices where column.codes[i] != StringDictionary.none {
                    column.codes[i] = newCodes[Int(column.codes[i])]
                }
            }
            indexes.append(FieldIndex(column, count: columns.count))
            frozen.append(column)
        }
        self.columns = FieldColumns(count: columns.count, columns: frozen)
        self.indexes = indexes
    }

    /// Bytes of memory held by the values and their indexes.
    public var memoryBytes: Int { columns.memoryBytes + indexes.reduce(0) { $0 + $1.memoryBytes } }
}

/// The index of one frozen column.
struct FieldIndex: Sendable {
    /// Numbers: the non-null rows, ascending by (value, row).
    var order: [UInt32] = []
    /// Strings, bools, tags: the rows of code c are `postings[postingStarts[c]..<postingStarts[c + 1]]`,
    /// ascending.
    var postingStarts: [UInt32] = []
    var postings: [UInt32] = []

    init(_ column: FieldColumn, count: Int) {
        switch column.type {
        case .int64:
            order = (0..<UInt32(count)).filter { !column.isNull(Int($0)) }
            order.sort { column.integers[Int($0)] < column.integers[Int($1)] || (column.integers[Int($0)] == column.integers[Int($1)] && $0 < $1) }
        case .double:
            order = (0..<UInt32(count)).filter { !column.isNull(Int($0)) }
            order.sort { column.doubles[Int($0)] < column.doubles[Int($1)] || (column.doubles[Int($0)] == column.doubles[Int($1)] && $0 < $1) }
        case .bool, .string, .tags:
            let codeCount = column.type == .bool ? 2 : column.dictionary.count
            // Counting sort: sizes, then starts, then fill in row order (so each list ascends).
            var sizes = [UInt32](repeating: 0, count: codeCount + 1)
            func forEachCode(_ body: (Int, UInt32) -> Void) {
                for row in 0..<count where !column.isNull(row) {
                    if column.type == .tags {
                        for i in column.tagRange(row) { body(row, column.codes[i]) }
                    } else {
                        body(row, column.codes[row])
                    }
                }
            }
            forEachCode { _, code in sizes[Int(code) + 1] += 1 }
            for c in 0..<codeCount { sizes[c + 1] += sizes[c] }
            postingStarts = sizes
            var next = sizes
            postings = [UInt32](repeating: 0, count: Int(sizes[codeCount]))
            forEachCode { row, code in
                postings[Int(next[Int(code)])] = UInt32(row)
                next[Int(code)] += 1
            }
            if column.type == .tags {
                // A row that lists a tag twice appears twice; posting lists are sets.
                var deduplicated: [UInt32] = []
                var starts: [UInt32] = [0]
                for c in 0..<codeCount {
                    var last: UInt32?
                    for row in postings[Int(postingStarts[c])..<Int(postingStarts[c + 1])] where row != last {
                        deduplicated.append(row)
                        last = row
                    }
                    starts.append(UInt32(deduplicated.count))
                }
                postings = deduplicated
                postingStarts = starts
            }
        }
    }

    func postings(of code: UInt32) -> ArraySlice<UInt32> {
        postings[Int(postingStarts[Int(code)])..<Int(postingStarts[Int(code) + 1])]
    }

    /// The rows of the codes `codes.lowerBound..<codes.upperBound` (a sorted dictionary's range).
    func postings(ofCodes codes: Range<Int>) -> ArraySlice<UInt32> {
        guard !codes.isEmpty else { return [] }
        // Lists of consecutive codes are adjacent: one slice, rows not in order.
        return postings[Int(postingStarts[codes.lowerBound])..<Int(postingStarts[codes.upperBound])]
    }

    var memoryBytes: Int { (order.capacity + postingStarts.capacity + postings.capacity) * 4 }
}
