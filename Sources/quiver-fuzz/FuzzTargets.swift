import Foundation
import QuiverAuth
import QuiverCore
import QuiverFilter
import QuiverIndex
import QuiverProto
import QuiverWire
import SwiftProtobuf

/// The fuzz targets: code that takes bytes from outside (a client, a file an operator hands over,
/// a file on disk) and must answer every input with a value or a typed error — never a crash, a
/// hang or an unbounded allocation. Each target also checks what it can about the answer (a
/// second implementation, a round trip), so that a wrong answer is a finding too: a failed check
/// is a `preconditionFailure`, which libFuzzer reports like a crash.
///
/// Run them with `scripts/fuzz.sh TARGET [SECONDS]` (libFuzzer, AddressSanitizer); the seed corpora
/// are `Tests/Fuzz/TARGET/`. Without `-DFUZZING` this executable replays files through a target
/// (`quiver-fuzz TARGET FILE…`), which the test suite does with every committed seed and finding.
enum FuzzTarget: String, CaseIterable {
    /// The filter language: parse, parentheses that change nothing, three evaluators that agree.
    case filter
    /// Requests from the wire: protobuf decoding, conversion to domain values, validation.
    case request
    /// Segment (index) files: the header, checksums, the payload and FAISS's deserialization.
    case segmentFile = "segment-file"
    /// The API keys file.
    case keys

    func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .filter: FilterFuzz.run(bytes)
        case .request: RequestFuzz.run(bytes)
        case .segmentFile: SegmentFileFuzz.run(bytes)
        case .keys: KeysFuzz.run(bytes)
        }
    }
}

/// The schema every target that needs one uses: one field of each type.
let fuzzSchema = CollectionSchema(
    name: "fuzz", dimension: 4, metric: .l2,
    fields: [
        FieldSchema(name: "year", type: .int64), FieldSchema(name: "price", type: .double), FieldSchema(name: "ok", type: .bool),
        FieldSchema(name: "title", type: .string), FieldSchema(name: "labels", type: .tags),
    ])

enum FilterFuzz {
    /// Rows the three evaluators run over: a fixed mix of values, nulls included, so that a filter
    /// that parses is also evaluated.
    static let rows: [[FieldValue]] = (0..<48).map(row)

    static func row(_ i: Int) -> [FieldValue] {
        let strings = ["", "a", "ab", "abc", "b", "ünï", "x%"]
        let tags = Array(["a", "b", "c", ""].prefix(i % 5))
        let year: FieldValue = i % 7 == 0 ? .null : .int64(Int64(i % 13) - 6)
        let price: FieldValue = i % 5 == 0 ? .null : .double(Double(i % 9) / 2 - 2)
        let ok: FieldValue = i % 4 == 0 ? .null : .bool(i % 3 == 0)
        let title: FieldValue = i % 6 == 0 ? .null : .string(strings[i % 7])
        let labels: FieldValue = i % 8 == 0 ? .null : .tags(tags)
        return [year, price, ok, title, labels]
    }

    static let columns: FieldColumns = {
        var columns = FieldColumns(schema: fuzzSchema)
        for row in rows { columns.append(row) }
        return columns
    }()

    static let fields = SegmentFields(freezing: columns)

    static func run(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let filter = try? Filter.parse(text, schema: fuzzSchema) else { return }
        // Parentheses around a valid expression change nothing (when they still fit the length
        // and depth limits).
        let canonical = filter.description
        if let wrapped = try? Filter.parse("(" + text + "\n)", schema: fuzzSchema) {
            precondition(
                wrapped.description == canonical,
                "parentheses changed \(text.debugDescription): \(canonical) → \(wrapped.description)")
        }
        // Three evaluators, one answer: row by row (the reference), over the columns, and through
        // the frozen columns' indexes.
        var reference = RowBitmap(count: rows.count)
        for (row, values) in rows.enumerated() where filter.matches(values) { reference.insert(row) }
        let scanned = filter.rows(in: columns, count: rows.count)
        let indexed = filter.rows(in: fields)
        precondition(scanned == reference, "column scan disagrees for \(canonical): \(scanned.rows) vs \(reference.rows)")
        precondition(indexed == reference, "indexes disagree for \(canonical): \(indexed.rows) vs \(reference.rows)")
    }
}

enum RequestFuzz {
    /// The first byte picks the message; the rest is its protobuf encoding.
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let kind = bytes.first else { return }
        let payload = Data(bytes.dropFirst())
        switch kind % 3 {
        case 0:
            guard let request = try? Quiver_V1_UpsertRequest(serializedBytes: payload) else { return }
            upsert(request)
        case 1:
            guard let request = try? Quiver_V1_SearchRequest(serializedBytes: payload) else { return }
            search(request)
        default:
            guard let request = try? Quiver_V1_CreateCollectionRequest(serializedBytes: payload) else { return }
            if let schema = try? request.schema.toDomain() { _ = try? schema.validate() }
        }
    }

    /// As `DataService.upsert`: every record converted, the batch validated against the schema.
    static func upsert(_ request: Quiver_V1_UpsertRequest) {
        var records: [Record] = []
        for record in request.records.prefix(Limits.batchRecordsMax + 1) {
            guard let converted = try? record.toRecord(collection: request.collection) else { return }
            records.append(converted)
        }
        guard let validated = try? fuzzSchema.validate(batch: records) else { return }
        precondition(validated.count == records.count, "validation changed the batch size")
        for (record, prepared) in zip(records, validated) {
            precondition(record.id == prepared.id && prepared.vector.count == fuzzSchema.dimension, "a validated record changed")
            precondition(prepared.vector.allSatisfy { $0.isFinite }, "a non-finite vector passed validation")
        }
    }

    /// As `SearchService`: the packed queries decoded and prepared, the filter parsed.
    static func search(_ request: Quiver_V1_SearchRequest) {
        guard
            let rows = try? PackedVectors.decodeRows(
                request.queries, dimension: fuzzSchema.dimension, what: "queries", collection: request.collection)
        else { return }
        for (i, query) in rows.enumerated() {
            guard let prepared = try? fuzzSchema.metric.prepare(query, dimension: fuzzSchema.dimension, collection: "fuzz", what: "query \(i)")
            else { continue }
            precondition(prepared.allSatisfy { $0.isFinite }, "a non-finite query passed")
        }
        if !request.filter.isEmpty { _ = try? Filter.parse(request.filter, schema: fuzzSchema) }
    }
}

enum SegmentFileFuzz {
    /// The first byte picks the mode: the bytes as they are (so mostly the header and checksum
    /// checks), or with both checksums made to fit, so that the payload and FAISS's
    /// deserialization see the fuzzer's bytes.
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let mode = bytes.first else { return }
        var file = Array(bytes.dropFirst())
        if mode & 1 == 1 { fixChecksums(&file) }
        guard let (segment, _) = try? SegmentFile.parse(file, path: "fuzz.ivf", dimension: 4) else { return }
        precondition(segment.rowIDs.count == segment.labels.count && segment.index.count == segment.rowIDs.count, "inconsistent segment")
        precondition(segment.index.dimension == 4, "wrong dimension accepted")
    }

    static func fixChecksums(_ bytes: inout [UInt8]) {
        guard bytes.count >= 40 else { return }
        let stored = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[40...])) }
        put(stored, at: 32, in: &bytes)
        let header = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<36])) }
        put(header, at: 36, in: &bytes)
    }

    static func put(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { for (i, byte) in $0.enumerated() { bytes[offset + i] = byte } }
    }
}

enum KeysFuzz {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let keys = try? APIKeys(contents: text, source: "fuzz") else { return }
        precondition(keys.count > 0, "a keys file without keys was accepted")
        // Every key of an accepted file matches itself, and every certificate subject its name,
        // with its line's role. (A `sha256:` line holds a digest: its key is not known here.)
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, !parts[0].hasPrefix("#"), !parts[0].hasPrefix(APIKeys.digestPrefix) else { continue }
            let entry =
                parts[0].hasPrefix(APIKeys.subjectPrefix)
                ? keys.match(certificateNames: [String(parts[0].dropFirst(APIKeys.subjectPrefix.count))]) : keys.match(String(parts[0]))
            precondition(entry?.role.description == String(parts[1]), "key of \(line.debugDescription) does not match")
        }
        precondition(keys.match("") == nil, "the empty key matched")
    }
}
