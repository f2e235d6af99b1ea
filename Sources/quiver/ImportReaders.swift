import CSV
import Foundation
import QuiverCore

/// One input row of `quiver import`: a record, or why the row is bad, with where it is.
struct ImportRow {
    let place: RowPlace
    let record: Result<Record, CLIError>

    var location: String { place.description }
}

/// Where a row is: `file:line` for text formats, `file row N` for binary ones, counting from 1.
/// Kept as parts and spelled only for messages: formatting it for every row of a million-row
/// vector file cost more than reading the row.
struct RowPlace: CustomStringConvertible {
    let path: String
    let number: Int
    let isLine: Bool

    var description: String { isLine ? "\(path):\(number)" : "\(path) row \(number)" }
}

/// Reads one input file row by row. A bad row is returned as such (the import skips or aborts);
/// a file that cannot be read on (truncated, not the format it claims) throws.
protocol ImportReader {
    /// Rows in the file when known without reading it all (for the progress ETA).
    var total: Int? { get }
    mutating func next() throws -> ImportRow?
}

enum ImportReaders {
    /// The reader for `path` by its extension. `ids` applies to vector files (.fvecs, .ivecs,
    /// .bvecs, .npy); without it they get ids 0..n-1.
    static func open(_ path: String, schema: CollectionSchema, ids: [UInt64]?) throws -> any ImportReader {
        let checker = RowChecker(schema: schema)
        if path.hasSuffix(".fvecs") || path.hasSuffix(".ivecs") || path.hasSuffix(".bvecs") {
            return try VecsReader(path: path, ids: ids, checker: checker)
        }
        if path.hasSuffix(".npy") { return try NpyReader(path: path, ids: ids, checker: checker) }
        if [".jsonl", ".ndjson", ".json"].contains(where: { path.hasSuffix($0) }) {
            return try JSONLReader(path: path, checker: checker)
        }
        if path.hasSuffix(".csv") { return try CSVRowReader(path: path, checker: checker) }
        throw CLIError("\(path): unknown format; use .fvecs, .ivecs, .bvecs, .npy, .jsonl or .csv")
    }
}

/// What the client checks before sending, so that a bad row is reported with its place in the
/// file (the server checks everything again).
struct RowChecker {
    let schema: CollectionSchema

    func check(_ record: Record, at place: RowPlace) -> ImportRow {
        if record.vector.count != schema.dimension {
            return ImportRow(
                place: place,
                record: .failure(CLIError("\(place): vector has dimension \(record.vector.count), collection \"\(schema.name)\" has \(schema.dimension)")))
        }
        if let bad = record.vector.firstIndex(where: { !$0.isFinite }) {
            return ImportRow(place: place, record: .failure(CLIError("\(place): vector component \(bad) is \(record.vector[bad]), not a finite number")))
        }
        return ImportRow(place: place, record: .success(record))
    }
}

/// `.fvecs` (float32), `.ivecs` (int32) and `.bvecs` (uint8): per row an int32 LE count, then the
/// values. Read in chunks, never whole.
struct VecsReader: ImportReader {
    /// The value type of a file, by its extension.
    private enum Values {
        case float32, int32, uint8

        var size: Int { self == .uint8 ? 1 : 4 }
    }

    let path: String
    let ids: [UInt64]?
    let checker: RowChecker
    private let handle: FileHandle
    private let values: Values
    private var row = 0
    /// Bytes read and not yet parsed: `buffer[offset...]`. Consumed rows are dropped only when
    /// the buffer is refilled, so a row costs its own bytes, not a shift of the whole buffer.
    private var buffer: [UInt8] = []
    private var offset = 0
    let total: Int?

    init(path: String, ids: [UInt64]?, checker: RowChecker) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CLIError("cannot read \(path)") }
        self.path = path
        self.ids = ids
        self.checker = checker
        self.handle = handle
        values = path.hasSuffix(".bvecs") ? .uint8 : path.hasSuffix(".ivecs") ? .int32 : .float32
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        total = size / (4 + checker.schema.dimension * values.size)
    }

    private mutating func fill(_ count: Int) throws -> Bool {
        while buffer.count - offset < count {
            if offset > 0 {
                buffer.removeFirst(offset)
                offset = 0
            }
            let chunk = handle.readData(ofLength: max(4 << 20, count))
            if chunk.isEmpty { return false }
            buffer.append(contentsOf: chunk)
        }
        return true
    }

    mutating func next() throws -> ImportRow? {
        guard try fill(4) else {
            guard buffer.count == offset else { throw CLIError("\(path): truncated after row \(row)") }
            if let ids, ids.count != row { throw CLIError("\(path) holds \(row) vectors, the ids file \(ids.count) ids") }
            return nil
        }
        let d = buffer.withUnsafeBytes { Int(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: Int32.self))) }
        guard d > 0, d <= Limits.dimensionRange.upperBound else { throw CLIError("\(path) row \(row + 1): count \(d) is not a vector dimension") }
        guard try fill(4 + d * values.size) else { throw CLIError("\(path) row \(row + 1): truncated") }
        let start = offset + 4
        let values = self.values
        let vector = buffer.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: d) { out, initialized in
                switch values {
                case .uint8:
                    for i in 0..<d { out[i] = Float(raw[start + i]) }
                case .int32:
                    for i in 0..<d { out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: start + i * 4, as: Int32.self))) }
                case .float32:
                    for i in 0..<d { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + i * 4, as: UInt32.self))) }
                }
                initialized = d
            }
        }
        offset += 4 + d * values.size
        defer { row += 1 }
        let place = RowPlace(path: path, number: row + 1, isLine: false)
        guard ids == nil || row < ids!.count else { throw CLIError("\(place): the ids file has only \(ids!.count) ids") }
        return checker.check(Record(id: RecordID(ids?[row] ?? UInt64(row)), vector: vector), at: place)
    }

    mutating func skip(_ rows: Int) throws {
        for _ in 0..<rows { guard try next() != nil else { return } }
    }
}

/// NumPy `.npy`: a C-order 2-D float32 array, memory-mapped.
struct NpyReader: ImportReader {
    let path: String
    let ids: [UInt64]?
    let checker: RowChecker
    private let array: NumpyArray
    private var row = 0
    let total: Int?

    init(path: String, ids: [UInt64]?, checker: RowChecker) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch { throw CLIError("cannot read \(path)") }
        array = try NumpyArray(data, path: path)
        guard array.descr == "<f4", array.shape.count == 2 else {
            throw CLIError("\(path): vectors must be a 2-D float32 ('<f4') array, the file holds '\(array.descr)' \(array.shape)")
        }
        if let ids, ids.count != array.shape[0] { throw CLIError("\(path) holds \(array.shape[0]) vectors, the ids file \(ids.count) ids") }
        self.path = path
        self.ids = ids
        self.checker = checker
        total = array.shape[0]
    }

    mutating func next() throws -> ImportRow? {
        guard row < array.shape[0] else { return nil }
        defer { row += 1 }
        let d = array.shape[1]
        let vector = (0..<d).map { Float(bitPattern: array.payload.loadLE(UInt32.self, at: (row * d + $0) * 4)) }
        return checker.check(Record(id: RecordID(ids?[row] ?? UInt64(row)), vector: vector), at: RowPlace(path: path, number: row + 1, isLine: false))
    }
}

/// JSON Lines: `{"id": 1, "vector": [...], "fields": {...}}` per line, read line by line.
struct JSONLReader: ImportReader {
    let path: String
    let checker: RowChecker
    private let data: Data
    private var offset: Int
    private var line = 0
    private let decoder = JSONDecoder()
    let total: Int? = nil

    init(path: String, checker: RowChecker) throws {
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch { throw CLIError("cannot read \(path)") }
        offset = data.startIndex
        self.path = path
        self.checker = checker
    }

    mutating func next() throws -> ImportRow? {
        while offset < data.endIndex {
            let end = data[offset...].firstIndex(of: UInt8(ascii: "\n")) ?? data.endIndex
            let bytes = data[offset..<end]
            offset = end == data.endIndex ? end : end + 1
            line += 1
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            let place = RowPlace(path: path, number: line, isLine: true)
            let location = place.description
            guard let value = try? decoder.decode(JSONValue.self, from: Data(text.utf8)) else {
                return ImportRow(place: place, record: .failure(CLIError("\(location): not valid JSON")))
            }
            do {
                return checker.check(try JSONLines.record(value, schema: checker.schema, where: location), at: place)
            } catch let error as CLIError {
                return ImportRow(place: place, record: .failure(error))
            }
        }
        return nil
    }
}

/// CSV with a header row: `id`, `vector` (a bracketed list, `[0.1, 0.2]`) and one column per field
/// (empty = null; tags as a JSON array of strings).
struct CSVRowReader: ImportReader {
    let path: String
    let checker: RowChecker
    private let reader: CSVReader
    private let columns: (id: Int, vector: Int, fields: [(index: Int, field: FieldSchema)])
    private var line = 1
    let total: Int? = nil

    init(path: String, checker: RowChecker) throws {
        // Read whole: the library's stream reader reports the end of some files as a read error.
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
        do { reader = try CSVReader(string: String(decoding: data, as: UTF8.self), hasHeaderRow: true) } catch {
            throw CLIError("\(path): not CSV (\(error))")
        }
        let header = (reader.headerRow ?? []).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let id = header.firstIndex(of: "id"), let vector = header.firstIndex(of: "vector") else {
            throw CLIError("\(path):1: the header must name an \"id\" and a \"vector\" column, it has \(header)")
        }
        var fields: [(Int, FieldSchema)] = []
        for (index, name) in header.enumerated() where index != id && index != vector {
            guard let field = checker.schema.fields.first(where: { $0.name == name }) else {
                throw CLIError(
                    "\(path):1: column \"\(name)\" is not a field of collection \"\(checker.schema.name)\" (it has: \(checker.schema.fields.map(\.name).joined(separator: ", ")))")
            }
            fields.append((index, field))
        }
        columns = (id, vector, fields)
        self.path = path
        self.checker = checker
    }

    mutating func next() throws -> ImportRow? {
        guard let row = reader.next() else {
            if let error = reader.error { throw CLIError("\(path):\(line + 1): \(error)") }
            return nil
        }
        line += 1
        let place = RowPlace(path: path, number: line, isLine: true)
        let location = place.description
        func bad(_ message: String) -> ImportRow { ImportRow(place: place, record: .failure(CLIError("\(location): \(message)"))) }
        guard row.count > max(columns.id, columns.vector) else { return bad("\(row.count) columns, the header has more") }
        guard let id = UInt64(row[columns.id].trimmingCharacters(in: .whitespaces)) else {
            return bad("id \"\(row[columns.id])\" is not a non-negative integer")
        }
        let text = row[columns.vector].trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("["), text.hasSuffix("]") else { return bad("vector must be a bracketed list like [0.1, 0.2]") }
        let parts = text.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let vector = parts.compactMap(Float.init)
        guard vector.count == parts.count else { return bad("vector holds a non-number") }
        var fields: [String: FieldValue] = [:]
        for (index, field) in columns.fields where index < row.count {
            let cell = row[index]
            if cell.isEmpty { continue }
            let json: JSONValue
            switch field.type {
            case .string: json = .string(cell)
            case .tags:
                guard let parsed = try? JSONDecoder().decode(JSONValue.self, from: Data(cell.utf8)) else {
                    return bad("field \"\(field.name)\": tags must be a JSON array of strings, got \(cell)")
                }
                json = parsed
            default:
                guard let parsed = try? JSONDecoder().decode(JSONValue.self, from: Data(cell.utf8)) else {
                    return bad("field \"\(field.name)\": expected \(field.type), got \(cell)")
                }
                json = parsed
            }
            do {
                fields[field.name] = try JSONLines.fieldValue(json, type: field.type, location: "\(location): field \"\(field.name)\"")
            } catch let error as CLIError {
                return ImportRow(place: place, record: .failure(error))
            }
        }
        return checker.check(Record(id: RecordID(id), vector: vector, fields: fields), at: place)
    }
}
