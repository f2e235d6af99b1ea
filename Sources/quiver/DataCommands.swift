import ArgumentParser
import Foundation
import QuiverClient
import QuiverCore

struct Upsert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Insert or replace records from a file.",
        discussion: """
            FILE is JSON Lines (.jsonl, .ndjson, .json: one {"id": 1, "vector": [...], "fields": {...}} \
            per line), .fvecs or .npy (float32 vectors). Vector files get ids 0..n-1, or the ids in \
            --ids (.ivecs or .npy). Records are streamed in batches; each batch is committed \
            atomically, so after a failure the batches before it stay written.
            """)

    @Argument(help: "Collection name.") var name: String
    @Argument(help: "Input file.") var file: String

    @Option(help: ArgumentHelp("Ids for a vector file: .ivecs or .npy.", valueName: "file"))
    var ids: String?

    @Option(help: "Records per batch, 1–100000.")
    var batchSize = 1_000

    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard (1...Limits.batchRecordsMax).contains(batchSize) else {
            throw ValidationError("--batch-size must be between 1 and \(Limits.batchRecordsMax)")
        }
    }

    func run() async throws {
        let started = ContinuousClock.now
        let (result, batches, count) = try await client.run { quiver in
            let records: [Record]
            if [".jsonl", ".ndjson", ".json"].contains(where: { file.hasSuffix($0) }) {
                // JSON Lines need the schema to type their fields.
                let schema = try await quiver.describeCollection(name).schema
                records = try client.checked { try JSONLines.readRecords(file, schema: schema) }
            } else {
                records = try client.checked { try readVectorFile() }
            }
            let batches = stride(from: 0, to: records.count, by: batchSize).map { Array(records[$0..<min($0 + batchSize, records.count)]) }
            let progress = ImportProgress(terminal: isatty(STDERR_FILENO) == 1, quiet: client.json || records.count < 10 * batchSize)
            progress.beginFile(file, total: records.count, skipping: 0)
            let (result, committed) = try await quiver.upsertStream(name, batches: ProgressBatches(batches: batches, progress: progress))
            return (result, committed, records.count)
        }
        let seconds = (ContinuousClock.now - started).seconds
        if client.json {
            client.print(.object([
                ("records", .int(Int64(count))), ("inserted", .int(Int64(result.inserted))),
                ("replaced", .int(Int64(result.replaced))), ("batches", .int(Int64(batches))),
            ]))
        } else {
            print("upserted \(count) records in \(batches) batches (\(result.inserted) new, \(result.replaced) replaced) in \(String(format: "%.2f", seconds)) s")
        }
    }

    private func readVectorFile() throws -> [Record] {
        let (vectors, _) = try VectorFiles.readVectors(file)
        let recordIDs: [UInt64]
        if let ids {
            recordIDs = try VectorFiles.readIDs(ids)
            guard recordIDs.count == vectors.count else {
                throw CLIError("\(ids) holds \(recordIDs.count) ids, \(file) holds \(vectors.count) vectors")
            }
        } else {
            recordIDs = (0..<UInt64(vectors.count)).map { $0 }
        }
        return zip(recordIDs, vectors).map { Record(id: RecordID($0), vector: $1) }
    }
}

/// Batches handed to the client's stream, reporting progress on standard error as they go.
struct ProgressBatches: AsyncSequence, Sendable {
    let batches: [[Record]]
    let progress: ImportProgress

    struct AsyncIterator: AsyncIteratorProtocol {
        var index = 0
        let batches: [[Record]]
        let progress: ImportProgress

        mutating func next() async -> [Record]? {
            guard index < batches.count else { return nil }
            defer { index += 1 }
            progress.advance(batches[index].count)
            return batches[index]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(batches: batches, progress: progress) }
}


struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print records by id, or those that pass a filter (JSON, one per line).",
        discussion: """
            By id: missing ids are reported as {"id": N, "missing": true} with --json, or on \
            standard error. With --filter (and no ids): the records that pass it, ascending by id, \
            at most --limit (docs/filters.md has the expression language).
            """)

    @Argument(help: "Collection name.") var name: String
    @Argument(help: "Record ids (none with --filter).") var ids: [UInt64] = []

    @Option(help: ArgumentHelp("Records that pass this filter expression instead of ids.", valueName: "expression"))
    var filter: String?

    @Option(help: "With --filter: at most this many records, 1–100000.")
    var limit = 100

    @Option(name: .customLong("field"), help: "Only these fields (repeatable; default all).")
    var fields: [String] = []

    @Flag(help: "Leave the vectors out.")
    var noVectors = false

    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard ids.isEmpty != (filter == nil) else { throw ValidationError("give record ids or --filter, not both") }
        guard (1...Limits.idsPerCallMax).contains(limit) else { throw ValidationError("--limit must be between 1 and \(Limits.idsPerCallMax)") }
    }

    func run() async throws {
        let selection: FieldSelection = fields.isEmpty ? .all : .only(fields)
        if let filter {
            let records = try await client.run {
                try await $0.query(name, filter: filter, limit: limit, includeVectors: !noVectors, fields: selection)
            }
            for record in records { client.print(RecordFormat.json(record)) }
            return
        }
        let recordIDs = ids.map { RecordID($0) }
        let records = try await client.run {
            try await $0.get(name, ids: recordIDs, includeVectors: !noVectors, fields: fields.isEmpty ? .all : .only(fields))
        }
        for (id, record) in zip(recordIDs, records) {
            if let record {
                client.print(RecordFormat.json(record))
            } else if client.json {
                client.print(.object([("id", .uint(id.rawValue)), ("missing", .bool(true))]))
            } else {
                FileHandle.standardError.write(Data("id \(id): not found\n".utf8))
            }
        }
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete records by id, or every record that passes a filter (atomically).")

    @Argument(help: "Collection name.") var name: String
    @Argument(help: "Record ids (none with --filter).") var ids: [UInt64] = []

    @Option(help: ArgumentHelp("Delete every record that passes this filter expression.", valueName: "expression"))
    var filter: String?

    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard ids.isEmpty != (filter == nil) else { throw ValidationError("give record ids or --filter, not both") }
    }

    func run() async throws {
        let deleted = try await client.run { quiver in
            if let filter { return try await quiver.delete(name, filter: filter) }
            return try await quiver.delete(name, ids: ids.map { RecordID($0) })
        }
        if client.json {
            client.print(.object([("deleted", .int(Int64(deleted)))]))
        } else if filter != nil {
            print("deleted \(deleted) records")
        } else {
            print("deleted \(deleted) of \(ids.count) ids")
        }
    }
}

struct Count: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Count the live records, or those that pass a filter.")

    @Argument(help: "Collection name.") var name: String

    @Option(help: ArgumentHelp("Count only records that pass this filter expression.", valueName: "expression"))
    var filter: String?

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let count = try await client.run { try await $0.count(name, filter: filter) }
        if client.json { client.print(.object([("count", .int(Int64(count)))])) } else { print(count) }
    }
}
