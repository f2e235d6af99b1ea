import Algorithms
import QuiverCore

/// The field values of one segment's rows, column by column: what filters are evaluated on.
///
/// Each column stores one value per row in a flat array (numbers as themselves, strings and bools
/// as codes into the column's dictionary, tags as a run of codes per row) and its nulls as a
/// bitmap. A growing segment appends as rows arrive; `SegmentFields` freezes the columns of a
/// sealed segment and adds its indexes. Row values are kept here rather than read from storage
/// because a filter must be evaluated over every row of a segment per search, and a RocksDB read
/// per row costs more than the vector scan the filter is meant to shrink.
public struct FieldColumns: Sendable {
    /// Rows appended.
    public private(set) var count = 0
    private(set) var columns: [FieldColumn]

    /// Empty columns for the fields of `schema`, in schema order.
    public init(schema: CollectionSchema, reservingCapacity capacity: Int = 0) {
        columns = schema.fields.map { FieldColumn(type: $0.type, capacity: capacity) }
    }

    init(count: Int, columns: [FieldColumn]) {
        self.count = count
        self.columns = columns
    }

    /// Appends one row's values, in schema order, already validated against the schema (each
    /// value is null or of its field's type).
    public mutating func append(_ values: [FieldValue]) {
        precondition(values.count == columns.count, "a row with \(values.count) values for \(columns.count) fields")
        for i in columns.indices { columns[i].append(values[i], row: count) }
        count += 1
    }

    /// Appends null rows until there are `count` rows (rows whose values are gone from storage:
    /// deleted rows of an indexed segment, which no scan reads).
    public mutating func padWithNulls(to count: Int) {
        let nulls = [FieldValue](repeating: .null, count: columns.count)
        while self.count < count { append(nulls) }
    }

    /// The value of field `field` (schema position) at `row`, decoded.
    public func value(_ field: Int, at row: Int) -> FieldValue {
        precondition(row < count)
        return columns[field].value(at: row)
    }

    /// Bytes of memory held by the columns.
    public var memoryBytes: Int { columns.reduce(0) { $0 + $1.memoryBytes } }
}

/// One field's values for the rows of a segment.
struct FieldColumn: Sendable {
    let type: FieldType
    /// The rows that are null (covering the rows up to the last null one).
    var nulls = RowBitmap(count: 0)
    var integers: [Int64] = []
    var doubles: [Double] = []
    /// Strings and bools: one code per row (bools: 0 false, 1 true). Tags: every row's codes, one
    /// run per row ending at `tagEnds[row]`.
    var codes: [UInt32] = []
    var tagEnds: [UInt32] = []
    var dictionary = StringDictionary()

    init(type: FieldType, capacity: Int) {
        self.type = type
        switch type {
        case .int64: integers.reserveCapacity(capacity)
        case .double: doubles.reserveCapacity(capacity)
        case .bool, .string: codes.reserveCapacity(capacity)
        case .tags: tagEnds.reserveCapacity(capacity)
        }
    }

    func isNull(_ row: Int) -> Bool { nulls.contains(row) }

    mutating func append(_ value: FieldValue, row: Int) {
        if value == .null {
            nulls.grow(to: row + 1)
            nulls.insert(row)
        }
        switch (type, value) {
        case (.int64, .int64(let v)): integers.append(v)
        case (.int64, _): integers.append(0)
        case (.double, .double(let v)): doubles.append(v)
        case (.double, _): doubles.append(0)
        case (.bool, .bool(let v)): codes.append(v ? 1 : 0)
        case (.bool, _): codes.append(0)
        case (.string, .string(let v)): codes.append(dictionary.code(for: v))
        case (.string, _): codes.append(StringDictionary.none)
        case (.tags, .tags(let tags)):
            for tag in tags { codes.append(dictionary.code(for: tag)) }
            tagEnds.append(UInt32(codes.count))
        case (.tags, _): tagEnds.append(UInt32(codes.count))
        }
    }

    /// The codes of a tags row.
    func tagRange(_ row: Int) -> Range<Int> { (row == 0 ? 0 : Int(tagEnds[row - 1]))..<Int(tagEnds[row]) }

    func value(at row: Int) -> FieldValue {
        if isNull(row) { return .null }
        switch type {
        case .int64: return .int64(integers[row])
        case .double: return .double(doubles[row])
        case .bool: return .bool(codes[row] == 1)
        case .string: return .string(dictionary.string(codes[row]))
        case .tags: return .tags(tagRange(row).map { dictionary.string(codes[$0]) })
        }
    }

    var memoryBytes: Int {
        nulls.memoryBytes + integers.capacity * 8 + doubles.capacity * 8 + codes.capacity * 4 + tagEnds.capacity * 4
            + dictionary.memoryBytes
    }
}

/// The distinct strings of a column, each with a code. Strings are kept as their UTF-8 bytes:
/// filters compare bytes, and Swift's `String` equality would merge canonically equivalent
/// spellings that are different values to Quiver.
struct StringDictionary: Sendable {
    /// The code of a null string cell.
    static let none = UInt32.max
    private(set) var strings: [[UInt8]] = []
    private var codes: [[UInt8]: UInt32] = [:]
    /// True when codes follow byte order (a frozen segment's dictionary), so that ranges of
    /// strings are ranges of codes.
    private(set) var isSorted = true

    var count: Int { strings.count }

    mutating func code(for string: String) -> UInt32 {
        let bytes = Array(string.utf8)
        if let code = codes[bytes] { return code }
        let code = UInt32(strings.count)
        if let last = strings.last, !last.lexicographicallyPrecedes(bytes) { isSorted = false }
        strings.append(bytes)
        codes[bytes] = code
        return code
    }

    func code(of string: String) -> UInt32? { codes[Array(string.utf8)] }

    func string(_ code: UInt32) -> String { String(decoding: strings[Int(code)], as: UTF8.self) }

    /// The same strings in byte order, and the new code of each old one.
    func sorted() -> (dictionary: StringDictionary, newCodes: [UInt32]) {
        let order = strings.indices.sorted { strings[$0].lexicographicallyPrecedes(strings[$1]) }
        var result = StringDictionary()
        var newCodes = [UInt32](repeating: 0, count: strings.count)
        for (new, old) in order.enumerated() {
            newCodes[old] = UInt32(new)
            result.strings.append(strings[old])
            result.codes[strings[old]] = UInt32(new)
        }
        return (result, newCodes)
    }

    /// Codes whose strings pass `test` (every string is tested: a scan of the dictionary).
    func codes(where test: ([UInt8]) -> Bool) -> [UInt32] {
        strings.indices.filter { test(strings[$0]) }.map { UInt32($0) }
    }

    /// For a sorted dictionary: the first code whose string is not below `bytes`, or, with
    /// `strictlyAbove`, the first whose string is greater.
    func lowerBound(_ bytes: [UInt8], strictlyAbove: Bool = false) -> Int {
        precondition(isSorted)
        return strings.partitioningIndex { string in
            strictlyAbove ? bytes.lexicographicallyPrecedes(string) : !string.lexicographicallyPrecedes(bytes)
        }
    }

    var memoryBytes: Int { strings.reduce(0) { $0 + $1.count * 2 + 48 } }
}
