import QuiverCore

/// The bound on what one read may return (`DatabaseOptions.resultBytesMax`).
///
/// A read-role caller could otherwise make the server build gigabytes: 16 queries × k 4,000 with
/// vectors of dimension 4,096 are a gigabyte of vectors before encoding, and the server held 3.2 GB
/// for such a call. So every read is sized before it is run, and refused with `resourceExhausted`
/// / `responseTooLarge` naming the limit: from what the request fixes (hits or records × the
/// vector bytes, plus a per-hit overhead) before any scan or storage read, and then, as field
/// values are read (their size is known only then), chunk by chunk, so that the fields of a
/// too-large result are never all in memory at once either.
///
/// The sizes are those of the wire encoding, a little generously: a hit is its id, score and
/// framing; a vector 4 bytes per component; a field value its payload and its name. So a result
/// within the limit also fits a gRPC message of the same size, and the server uses its message
/// limit as this one.
extension Database {
    /// Bytes a hit or record costs besides its vector and fields (id, score, message framing).
    static let resultRecordOverheadBytes = 32

    /// Refuses a read whose `records` results (hits or records) with their vectors are already over
    /// the limit, before it runs.
    func checkResultSize(collection name: String, records: Int, dimension: Int, includeVectors: Bool, what: String) throws(QuiverError) {
        let perRecord = Self.resultRecordOverheadBytes + (includeVectors ? dimension * 4 : 0)
        let bytes = records.multipliedReportingOverflow(by: perRecord)
        guard bytes.overflow || bytes.partialValue > resultBytesMax else { return }
        throw Self.resultTooLarge(
            collection: name,
            "\(what) could be \(bytes.overflow ? "more than \(Int.max)" : String(bytes.partialValue)) bytes "
                + "(\(records) × \(perRecord) bytes\(includeVectors ? " with vectors" : "")), over the limit of \(resultBytesMax) bytes; "
                + "ask for fewer results\(includeVectors ? " or leave the vectors out" : "")")
    }

    static func resultTooLarge(collection name: String, _ detail: String) -> QuiverError {
        QuiverError(
            .resourceExhausted, .responseTooLarge, "collection \"\(name)\": the result of \(detail)", collection: name,
            field: "result_bytes_max")
    }

    /// Bytes a record's selected field values take in a result.
    static func resultBytes(of fields: [String: FieldValue]) -> Int {
        fields.reduce(0) { total, field in
            let payload: Int =
                switch field.value {
                case .null: 1
                case .int64, .double: 9
                case .bool: 2
                case .string(let text): text.utf8.count + 5
                case .tags(let tags): tags.reduce(5) { $0 + $1.utf8.count + 5 }
                }
            return total + field.key.utf8.count + 4 + payload
        }
    }
}
