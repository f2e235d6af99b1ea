// The columnar form of an upsert (`RecordColumns`): ids, vectors and each field as one packed
// block or list, so that a client holding arrays (numpy's) sends them as they are instead of
// building a message per record. The server turns the columns back into records and validates
// them exactly as the row form, so both forms share one set of rules and errors; what is
// checked here is only the shape of the columns (lengths, masks, byte values), with the column's
// field and the row where one is at fault.
import Foundation
import QuiverCore
import QuiverProto

extension Quiver_V1_RecordColumns {
    /// The rows as records, in order.
    ///
    /// - Throws: `invalidArgument`: `emptyBatch` for no rows, `limitExceeded` beyond
    ///   `Limits.batchRecordsMax`, `malformedRequest` for a block or list whose length does not
    ///   match `rows`, a null mask that is not one 0 or 1 per row, a bool that is not 0 or 1;
    ///   `dimensionMismatch` for vectors that do not split into `rows` float32 vectors.
    public func toRecords(collection: String) throws(QuiverError) -> [Record] {
        let count = Int(rows)
        guard count > 0 else { throw .invalid(.emptyBatch, "collection \"\(collection)\": the columns have no rows", collection: collection, field: "rows", value: "0") }
        guard count <= Limits.batchRecordsMax else {
            throw .invalid(
                .limitExceeded, "collection \"\(collection)\": a batch holds at most \(Limits.batchRecordsMax) records, got \(count) rows",
                collection: collection, field: "rows", value: String(count))
        }
        func malformed(_ field: String, _ what: String, value: String) -> QuiverError {
            .invalid(.malformedRequest, "collection \"\(collection)\": \(what)", collection: collection, field: field, value: value)
        }
        guard ids.count == count * 8 else {
            throw malformed("ids", "the ids are \(ids.count) bytes, expected \(count) rows × 8", value: String(ids.count))
        }
        guard vectors.count % (count * 4) == 0 else {
            throw .invalid(
                .dimensionMismatch,
                "collection \"\(collection)\": the vectors are \(vectors.count) bytes, not \(count) rows × a dimension × 4",
                collection: collection, field: "vector", value: String(vectors.count))
        }
        let dimension = vectors.count / (count * 4)
        let idValues: [UInt64] = PackedValues.decode(ids)
        let floats: [Float] = PackedValues.decode(vectors)
        var records = (0..<count).map { row in
            Record(id: RecordID(idValues[row]), vector: Array(floats[(row * dimension)..<((row + 1) * dimension)]))
        }
        for (name, column) in fields {
            let values = try column.values(rows: count, field: name, collection: collection)
            for row in 0..<count where values[row] != .null { records[row].fields[name] = values[row] }
        }
        return records
    }

    /// The records as columns, or nil when they cannot be: a field holding values of two types
    /// (an int64 in a double field, which the row form widens).
    public init?(_ records: [Record]) {
        self.init()
        rows = UInt32(records.count)
        var ids = [UInt64]()
        ids.reserveCapacity(records.count)
        var vectors = [Float]()
        vectors.reserveCapacity(records.count * (records.first?.vector.count ?? 0))
        for record in records {
            ids.append(record.id.rawValue)
            vectors.append(contentsOf: record.vector)
        }
        // Rows of differing dimensions cannot be told apart in one block.
        guard records.allSatisfy({ $0.vector.count == records.first?.vector.count }) else { return nil }
        self.ids = PackedValues.encode(ids)
        self.vectors = PackedValues.encode(vectors)
        var names = Set<String>()
        for record in records { names.formUnion(record.fields.keys) }
        for name in names {
            guard let column = Quiver_V1_FieldColumn(records.map { $0.fields[name] ?? .null }) else { return nil }
            fields[name] = column
        }
    }
}

extension Quiver_V1_FieldColumn {
    /// One value per row; `.null` where the mask says so.
    func values(rows: Int, field: String, collection: String) throws(QuiverError) -> [FieldValue] {
        func malformed(_ what: String, value: String) -> QuiverError {
            .invalid(.malformedRequest, "collection \"\(collection)\": column \"\(field)\" \(what)", collection: collection, field: field, value: value)
        }
        let mask = [UInt8](nulls)
        guard mask.isEmpty || mask.count == rows else {
            throw malformed("has a null mask of \(mask.count) bytes for \(rows) rows", value: String(mask.count))
        }
        if let row = mask.firstIndex(where: { $0 > 1 }) {
            throw malformed("null mask holds \(mask[row]) at row \(row), not 0 or 1", value: String(mask[row]))
        }
        func isNull(_ row: Int) -> Bool { !mask.isEmpty && mask[row] == 1 }
        func fixed(_ bytes: Data, width: Int, _ type: String) throws(QuiverError) {
            guard bytes.count == rows * width else {
                throw malformed("holds \(bytes.count) bytes of \(type), expected \(rows) rows × \(width)", value: String(bytes.count))
            }
        }
        func counted(_ count: Int, _ type: String) throws(QuiverError) {
            guard count == rows else { throw malformed("holds \(count) \(type) for \(rows) rows", value: String(count)) }
        }
        var out = [FieldValue](repeating: .null, count: rows)
        switch values {
        case nil:
            if let row = mask.firstIndex(of: 0) { throw malformed("has no values but row \(row) is not null", value: String(row)) }
        case .int64Values(let bytes):
            try fixed(bytes, width: 8, "int64")
            let decoded: [Int64] = PackedValues.decode(bytes)
            for row in 0..<rows where !isNull(row) { out[row] = .int64(decoded[row]) }
        case .doubleValues(let bytes):
            try fixed(bytes, width: 8, "double")
            let decoded: [Double] = PackedValues.decode(bytes)
            for row in 0..<rows where !isNull(row) { out[row] = .double(decoded[row]) }
        case .boolValues(let bytes):
            try fixed(bytes, width: 1, "bool")
            for (row, byte) in bytes.enumerated() where !isNull(row) {
                guard byte <= 1 else { throw malformed("holds \(byte) at row \(row), not a bool (0 or 1)", value: String(byte)) }
                out[row] = .bool(byte == 1)
            }
        case .stringValues(let column):
            try counted(column.values.count, "strings")
            for row in 0..<rows where !isNull(row) { out[row] = .string(column.values[row]) }
        case .tagsValues(let column):
            try counted(column.values.count, "tag lists")
            for row in 0..<rows where !isNull(row) { out[row] = .tags(column.values[row].values) }
        }
        return out
    }

    /// The column of `values`, or nil when they are of more than one type.
    init?(_ values: [FieldValue]) {
        self.init()
        let type = values.lazy.compactMap(\.type).first
        guard values.allSatisfy({ $0.type == nil || $0.type == type }) else { return nil }
        if values.contains(.null) { nulls = Data(values.map { $0 == .null ? 1 : 0 }) }
        switch type {
        case nil: break
        case .int64?:
            self.values = .int64Values(PackedValues.encode(values.map { (value) -> Int64 in if case .int64(let v) = value { v } else { 0 } }))
        case .double?:
            self.values = .doubleValues(PackedValues.encode(values.map { (value) -> Double in if case .double(let v) = value { v } else { 0 } }))
        case .bool?:
            self.values = .boolValues(Data(values.map { (value) -> UInt8 in if case .bool(true) = value { 1 } else { 0 } }))
        case .string?:
            self.values = .stringValues(.with { $0.values = values.map { (value) -> String in if case .string(let v) = value { v } else { "" } } })
        case .tags?:
            self.values = .tagsValues(.with { column in
                column.values = values.map { value in .with { if case .tags(let v) = value { $0.values = v } } }
            })
        }
    }
}

/// Fixed-width little-endian numbers packed in `bytes` fields.
public enum PackedValues {
    public static func encode<T: BitwiseCopyable>(_ values: [T]) -> Data {
        values.withUnsafeBytes { Data($0) }
    }

    /// One memcpy: the bytes may sit unaligned in the message buffer, so they are copied, not
    /// reinterpreted. The caller has checked that the count is a multiple of the width.
    public static func decode<T: BitwiseCopyable>(_ data: Data) -> [T] {
        let count = data.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            data.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(count * MemoryLayout<T>.stride))) }
            initialized = count
        }
    }
}
