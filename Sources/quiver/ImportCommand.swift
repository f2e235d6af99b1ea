import ArgumentParser
import Foundation
import QuiverClient
import QuiverCore
import QuiverEngine
import Synchronization

/// `quiver import`: bulk loading, online through a server or offline into a stopped database.
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bulk-load files into a collection, through a server or straight into a stopped database.",
        discussion: """
            Formats: .fvecs / .ivecs / .bvecs (ANN benchmark vectors), .npy (2-D float32) — ids from \
            --ids (.ivecs or .npy) or 0..n-1 — .jsonl ({"id", "vector", "fields"} per line) and .csv \
            (header with "id", "vector" as [x, y, ...], and field columns; empty cells are null, tags \
            a JSON array).

            Online (default): batches go to the server as Upsert calls, --pipeline of them in flight; \
            each is atomic. With --resume FILE the position after the last acknowledged batch is \
            kept in FILE; run the same command again after an interruption and it continues from \
            there (ids are upserts, so a batch sent twice is not duplicated). The file is removed \
            when the import completes.

            Offline (--data-dir DIR): writes straight into the database through the engine in this \
            process, the WAL unsynced until the end, then seals the last segment and waits until \
            every segment is indexed. Refused while a server (or anything) holds the database. \
            The collection must exist: `quiver collection create ... --data-dir DIR` makes it \
            offline too.

            Bad rows (wrong dimension, NaN, bad JSON or CSV) are reported with file, line or row \
            and reason. --on-error abort (default) stops before sending the batch that holds the \
            first one (earlier batches stay imported); skip reports each and imports the rest.
            """)

    @Argument(help: "Collection name (it must exist).") var name: String
    @Argument(help: "Input files, imported in order.") var files: [String]

    @Option(help: ArgumentHelp("Ids for vector files (.ivecs or .npy), one per row, in order.", valueName: "file"))
    var ids: String?

    @Option(help: "Records per batch, 1–100000 (default: 5000, fewer for vectors over 400 dimensions, so that a batch stays near 8 MiB).")
    var batchSize: Int?

    @Option(help: "Batches in flight at once (online), 1–64.") var pipeline = 4

    @Option(help: ArgumentHelp("abort (default) or skip.", valueName: "policy")) var onError = "abort"

    @Option(help: ArgumentHelp("Checkpoint file for resuming an interrupted import.", valueName: "file"))
    var resume: String?

    @Option(help: ArgumentHelp("Import offline into this stopped database instead of through a server.", valueName: "dir"))
    var dataDir: String?

    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one input file") }
        if let batchSize, !(1...Limits.batchRecordsMax).contains(batchSize) {
            throw ValidationError("--batch-size must be between 1 and \(Limits.batchRecordsMax)")
        }
        guard (1...64).contains(pipeline) else { throw ValidationError("--pipeline must be between 1 and 64") }
        guard onError == "abort" || onError == "skip" else { throw ValidationError("--on-error must be abort or skip, not '\(onError)'") }
        guard ids == nil || files.count == 1 else { throw ValidationError("--ids goes with a single vector file") }
    }

    /// Where an import stands: the next row to send, as file index and row within the file.
    struct Checkpoint: Codable, Equatable {
        var files: [String]
        var file = 0
        var row = 0
        var imported = 0
        var skipped = 0
    }

    func run() async throws {
        let started = ContinuousClock.now
        var checkpoint = Checkpoint(files: files)
        if let resume, FileManager.default.fileExists(atPath: resume) {
            let saved = try client.checked { () throws -> Checkpoint in
                guard let data = FileManager.default.contents(atPath: resume), let saved = try? JSONDecoder().decode(Checkpoint.self, from: data) else {
                    throw CLIError("\(resume) is not an import checkpoint")
                }
                guard saved.files == files else { throw CLIError("\(resume) is the checkpoint of another import (files \(saved.files))") }
                return saved
            }
            checkpoint = saved
            FileHandle.standardError.write(Data("resuming at \(files[min(saved.file, files.count - 1)]) row \(saved.row + 1) (\(saved.imported) records imported before)\n".utf8))
        }
        let summary: Checkpoint
        if let dataDir {
            var options = DatabaseOptions(syncPolicy: .none, backgroundWork: false, logger: OfflineOptions.quietLogger)
            options.deferIndexing = true
            options.bulkLoad = true
            let (loaded, acknowledged, indexed) = try await OfflineOptions.run(dataDir, options: options, report: client) { database in
                let schema = try database.schema(of: name)
                let summary = try await load(schema: schema, from: checkpoint) { records in _ = try await database.upsert(name, records) }
                let acknowledged = ContinuousClock.now
                try await database.seal(name)
                // One FAISS thread still: with two, the idle OpenMP thread spins and the builds
                // took longer on two cores (45 s against 41 s for 1,000,000 × 128).
                try await database.indexDeferredSegments()
                try await database.waitForBackgroundWork()
                return (summary, acknowledged, ContinuousClock.now)
            }
            summary = loaded
            report(summary, started: started, acknowledged: acknowledged, indexed: indexed)
        } else {
            summary = try await client.run { quiver in
                let schema = try await quiver.describeCollection(name).schema
                return try await load(schema: schema, from: checkpoint) { records in _ = try await quiver.upsert(name, records) }
            }
            report(summary, started: started, acknowledged: .now, indexed: nil)
        }
        if let resume { try? FileManager.default.removeItem(atPath: resume) }
    }

    private func report(_ summary: Checkpoint, started: ContinuousClock.Instant, acknowledged: ContinuousClock.Instant, indexed: ContinuousClock.Instant?) {
        let seconds = (acknowledged - started).seconds
        let rate = Double(summary.imported) / max(seconds, 1e-9)
        if client.json {
            var pairs: [(String, JSONValue)] = [
                ("imported", .int(Int64(summary.imported))), ("skipped", .int(Int64(summary.skipped))),
                ("seconds", .double(seconds)), ("records_per_second", .double(rate)),
            ]
            if let indexed { pairs.append(("indexed_seconds", .double((indexed - started).seconds))) }
            client.print(.object(pairs))
        } else {
            var line = "imported \(summary.imported) records (\(summary.skipped) bad rows skipped) in \(String(format: "%.2f", seconds)) s, \(Int(rate)) records/s"
            if let indexed { line += "; all indexed after \(String(format: "%.2f", (indexed - started).seconds)) s" }
            print(line)
        }
    }

    /// Reads every file from `start`, sends batches through `send` with up to `pipeline` in
    /// flight, and advances the checkpoint over acknowledged batches in order.
    private func load(
        schema: CollectionSchema, from start: Checkpoint, send: @escaping @Sendable ([Record]) async throws -> Void
    ) async throws -> Checkpoint {
        let idList = try ids.map { path in try client.checked { try VectorFiles.readIDs(path) } }
        let batchSize = self.batchSize ?? QuiverClient.defaultBatchRecords(dimension: schema.dimension)
        let progress = ImportProgress(terminal: isatty(STDERR_FILENO) == 1, quiet: client.json)
        var checkpoint = start
        var failure: (any Error)?
        // Batches in flight, in order: each with the checkpoint it completes.
        try await withThrowingTaskGroup(of: (Int, Result<Void, any Error>).self) { group in
            var pending: [(sequence: Int, after: Checkpoint, done: Bool, count: Int)] = []
            var sequence = 0
            func settle(_ finished: (Int, Result<Void, any Error>)) throws {
                if case .failure(let error) = finished.1, failure == nil { failure = error }
                if let i = pending.firstIndex(where: { $0.sequence == finished.0 }) { pending[i].done = true }
                while let first = pending.first, first.done {
                    pending.removeFirst()
                    checkpoint = first.after
                    progress.advance(first.count)
                    try save(checkpoint)
                }
            }
            func submit(_ batch: [Record], after: Checkpoint) async throws {
                while pending.count >= pipeline, failure == nil, let finished = try await group.next() { try settle(finished) }
                guard failure == nil else { return }
                let id = sequence
                sequence += 1
                pending.append((id, after, false, batch.count))
                group.addTask {
                    do { try await send(batch); return (id, .success(())) } catch { return (id, .failure(error)) }
                }
            }

            var position = start
            fileLoop: for index in start.file..<files.count {
                let path = files[index]
                // A file that cannot be read on ends the import like a bad row under abort, after
                // the batches in flight are acknowledged.
                var reader: any ImportReader
                do { reader = try ImportReaders.open(path, schema: schema, ids: idList) } catch {
                    failure = error
                    break
                }
                progress.beginFile(path, total: reader.total, skipping: index == start.file ? start.row : 0)
                var row = 0
                var batch: [Record] = []
                batch.reserveCapacity(batchSize)
                while true {
                    let read: ImportRow?
                    do { read = try reader.next() } catch {
                        failure = error
                        break fileLoop
                    }
                    guard let next = read else { break }
                    row += 1
                    if index == start.file && row <= start.row { continue }
                    switch next.record {
                    case .success(let record): batch.append(record)
                    case .failure(let error):
                        FileHandle.standardError.write(Data((progress.clearLine + "bad row: \(error.description)\n").utf8))
                        if onError == "abort" {
                            failure = failure ?? CLIError("import aborted at \(next.location); the batch holding it was not sent")
                            break fileLoop
                        }
                        position.skipped += 1
                    }
                    if batch.count == batchSize {
                        position.file = index
                        position.row = row
                        position.imported += batch.count
                        try await submit(batch, after: position)
                        batch.removeAll(keepingCapacity: true)
                        if failure != nil { break fileLoop }
                    }
                }
                position.file = index + 1
                position.row = 0
                if !batch.isEmpty {
                    position.imported += batch.count
                    try await submit(batch, after: position)
                } else if pending.isEmpty {
                    checkpoint = position
                    try save(checkpoint)
                }
                if failure != nil { break }
            }
            while let finished = try await group.next() { try settle(finished) }
        }
        progress.finish()
        if let failure {
            if let error = failure as? QuiverError {
                client.report(error)
            } else {
                client.report(QuiverError(.invalidArgument, .malformedRequest, "\(failure)"))
            }
            FileHandle.standardError.write(Data("imported \(checkpoint.imported) records before stopping\(resume.map { "; the checkpoint \($0) resumes from there" } ?? "")\n".utf8))
            throw ExitCode(1)
        }
        return checkpoint
    }

    private func save(_ checkpoint: Checkpoint) throws {
        guard let resume else { return }
        let data = try JSONEncoder().encode(checkpoint)
        try data.write(to: URL(fileURLWithPath: resume), options: .atomic)
    }
}

/// Progress of `upsert` and `import` on standard error: a bar on a terminal (rows, rows/s, ETA
/// when the total is known), plain lines every two seconds otherwise, nothing when quiet.
final class ImportProgress: Sendable {
    private let terminal: Bool
    private let quiet: Bool
    private let started = ContinuousClock.now
    /// `done`: rows of the current file behind us (skipped ones included); `sent`: rows sent by
    /// this run, for the rate.
    private let state = Mutex<(file: String, total: Int?, done: Int, sent: Int, last: ContinuousClock.Instant)>(("", nil, 0, 0, .now))

    init(terminal: Bool, quiet: Bool) {
        self.terminal = terminal && !quiet
        self.quiet = quiet
    }

    var clearLine: String { terminal ? "\r\u{1B}[K" : "" }

    func beginFile(_ path: String, total: Int?, skipping: Int) {
        state.withLock { $0 = (path, total, skipping, $0.sent, $0.last) }
    }

    func advance(_ rows: Int) {
        guard !quiet else { return }
        let line: String? = state.withLock { state in
            state.done += rows
            state.sent += rows
            let interval: Duration = terminal ? .milliseconds(200) : .seconds(2)
            guard ContinuousClock.now - state.last >= interval else { return nil }
            state.last = .now
            let rate = Double(state.sent) / max((ContinuousClock.now - started).seconds, 1e-9)
            var text = "\((state.file as NSString).lastPathComponent): \(state.done)"
            if let total = state.total, total > 0 {
                let share = min(1, Double(state.done) / Double(total))
                if terminal {
                    let width = 30
                    let filled = Int(share * Double(width))
                    text = "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] " + text
                }
                text += "/\(total) rows"
                let eta = rate > 0 ? Double(total - state.done) / rate : 0
                text += ", \(Int(rate)) rows/s, ETA \(Int(eta)) s"
            } else {
                text += " rows, \(Int(rate)) rows/s"
            }
            return terminal ? "\r\u{1B}[K" + text : text + "\n"
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    func finish() { if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
}
