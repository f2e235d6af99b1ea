import ArgumentParser
import Foundation
import QuiverClient
import QuiverCore
import QuiverEngine
import QuiverTesting

/// `quiver-bench import`: the bulk-import benchmark of docs/benchmarks.md. Writes N × d clustered
/// vectors to an .fvecs file, then runs the real `quiver import` as a separate process, `--runs`
/// times each way, alternating: online through a `quiver serve` process (sync=always), and offline
/// into a stopped database. Prints records/s until the last batch was acknowledged and the time
/// until every segment was indexed for every run, then the medians (the machine is shared: single
/// runs of the same binary differ by a fifth).
struct BenchImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Bulk import of an .fvecs file: online through a server and offline, with time until indexed.")

    @Option(help: "Vectors in the file.") var count = 1_000_000
    @Option(help: "Records per batch (default: quiver import's).") var batchSize: Int?
    @Option(help: "Batches in flight (online).") var pipeline = 4
    @Option(help: "Runs of each path, alternating (medians are reported).") var runs = 3
    @OptionGroup var common: BenchCommon

    /// One import: records/s to acknowledged, and seconds from the start until every segment was
    /// indexed.
    struct Run {
        var rate: Double
        var seconds: Double
        var indexed: Double
    }

    mutating func run() async throws {
        if common.quick {
            count = 20_000
            runs = 1
        }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        let dimension = common.dimension
        let work = common.workDirectory("import")
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        print("quiver-bench import — \(BenchEngine.machine()), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        let file = work + "/vectors.fvecs"
        let vectors = ClusteredDataset(dimension: dimension, clusters: 1_000, spread: 0.35, seed: common.seed).points(count: count, stream: 0)
        var data = Data(capacity: count * (4 + dimension * 4))
        for row in 0..<count {
            withUnsafeBytes(of: Int32(dimension).littleEndian) { data.append(contentsOf: $0) }
            vectors[(row * dimension)..<((row + 1) * dimension)].withUnsafeBytes { data.append(contentsOf: $0) }
        }
        try data.write(to: URL(fileURLWithPath: file))
        print("file: \(count) × \(dimension) .fvecs, \(data.count >> 20) MiB; batches of \(batchSize ?? QuiverClient.defaultBatchRecords(dimension: dimension)); \(runs) runs each way")
        let batchArguments = batchSize.map { ["--batch-size", String($0)] } ?? []

        var online: [Run] = []
        var offline: [Run] = []
        for index in 1...runs {
            let directory = work + "/run\(index)"
            let a = try await Self.online(file: file, directory: directory + "-online", dimension: dimension, pipeline: pipeline, batch: batchArguments)
            print("run \(index) online:  \(Self.describe(a))")
            online.append(a)
            let b = try await Self.offline(file: file, directory: directory + "-offline", dimension: dimension, batch: batchArguments)
            print("run \(index) offline: \(Self.describe(b))")
            offline.append(b)
        }
        print(
            "online (through the server, sync=always, \(pipeline) batches in flight), median: \(Self.describe(Self.median(online)))  (target ≥ 100,000 vectors/s)")
        print(
            "offline (--data-dir, straight into the stopped database), median: \(Self.describe(Self.median(offline))) — vectors/s before index builds  (target ≥ 300,000)")
    }

    static func describe(_ run: Run) -> String {
        "\(BenchEngine.format(run.rate)) vectors/s to acknowledged (\(String(format: "%.1f", run.seconds)) s); every segment indexed \(String(format: "%.1f", run.indexed)) s after the start"
    }

    /// Each figure's median on its own.
    static func median(_ runs: [Run]) -> Run {
        Run(rate: Percentile.median(runs.map(\.rate)), seconds: Percentile.median(runs.map(\.seconds)), indexed: Percentile.median(runs.map(\.indexed)))
    }

    /// A server process on a fresh directory, the import as another process.
    static func online(file: String, directory: String, dimension: Int, pipeline: Int, batch: [String]) async throws -> Run {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = Process()
        server.executableURL = BenchCommon.quiverExecutable
        server.arguments = ["serve", "--data-dir", directory, "--listen", "127.0.0.1:0", "--log-level", "warning"]
        let serverOutput = Pipe()
        server.standardOutput = serverOutput
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        var address = ""
        var buffer = Data()
        while address.isEmpty {
            let chunk = serverOutput.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw BenchError("the server exited before listening") }
            buffer.append(chunk)
            if let line = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first(where: { $0.hasPrefix("listening ") }) {
                address = String(line.dropFirst("listening ".count))
            }
        }
        _ = try BenchCommon.runQuiver(["collection", "create", "bench", "--dim", String(dimension), "--metric", "l2", "--server", address])
        let started = ContinuousClock.now
        let result = try json(
            try BenchCommon.runQuiver(["import", "bench", file, "--pipeline", String(pipeline), "--json", "--server", address] + batch))
        while true {
            let described = try json(try BenchCommon.runQuiver(["collection", "describe", "bench", "--json", "--server", address]))
            if described["pending"] as? Bool == false { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let indexed = (ContinuousClock.now - started).seconds
        server.terminate()
        server.waitUntilExit()
        return Run(rate: result["records_per_second"] as? Double ?? 0, seconds: result["seconds"] as? Double ?? 0, indexed: indexed)
    }

    /// The collection is created, the database closed, then `import --data-dir`.
    static func offline(file: String, directory: String, dimension: Int, batch: [String]) async throws -> Run {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await Database.open(path: directory, options: BenchEngine.options(.always))
        _ = try await database.createCollection(CollectionSchema(name: "bench", dimension: dimension, metric: .l2))
        try await database.close()
        let result = try json(try BenchCommon.runQuiver(["import", "bench", file, "--data-dir", directory, "--json"] + batch))
        return Run(
            rate: result["records_per_second"] as? Double ?? 0, seconds: result["seconds"] as? Double ?? 0,
            indexed: result["indexed_seconds"] as? Double ?? 0)
    }

    static func json(_ text: String) throws -> [String: Any] {
        guard let line = text.split(separator: "\n").last,
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw BenchError("expected a JSON object, got: \(text)") }
        return object
    }
}
