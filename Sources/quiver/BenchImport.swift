import ArgumentParser
import Foundation
import QuiverCore
import QuiverEngine
import QuiverTesting

/// `quiver bench import`: the bulk-import benchmark of docs/benchmarks.md. Writes N × d clustered
/// vectors to an .fvecs file, then runs the real `quiver import` twice, as a separate process:
/// online through a `quiver serve` process (sync=always), and offline into a stopped database.
/// Prints records/s until the last batch was acknowledged and the time until every segment was
/// indexed.
struct BenchImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Bulk import of an .fvecs file: online through a server and offline, with time until indexed.")

    @Option(help: "Vectors in the file.") var count = 1_000_000
    @Option(help: "Records per batch (default: quiver import's).") var batchSize: Int?
    @Option(help: "Batches in flight (online).") var pipeline = 4
    @OptionGroup var common: BenchCommon

    mutating func run() async throws {
        if common.quick { count = 20_000 }
        let dimension = common.dimension
        let work = common.workDirectory("import")
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        print("quiver bench import — \(BenchEngine.machine()), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        let file = work + "/vectors.fvecs"
        let vectors = ClusteredDataset(dimension: dimension, clusters: 1_000, spread: 0.35, seed: common.seed).points(count: count, stream: 0)
        var data = Data(capacity: count * (4 + dimension * 4))
        for row in 0..<count {
            withUnsafeBytes(of: Int32(dimension).littleEndian) { data.append(contentsOf: $0) }
            vectors[(row * dimension)..<((row + 1) * dimension)].withUnsafeBytes { data.append(contentsOf: $0) }
        }
        try data.write(to: URL(fileURLWithPath: file))
        print("file: \(count) × \(dimension) .fvecs, \(data.count >> 20) MiB; batches of \(batchSize ?? Import.defaultBatchSize(dimension: dimension))")
        let batchArguments = batchSize.map { ["--batch-size", String($0)] } ?? []
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL

        // Online: a server process, the import as another process.
        let server = Process()
        server.executableURL = executable
        server.arguments = ["serve", "--data-dir", work + "/online", "--listen", "127.0.0.1:0", "--log-level", "warning"]
        let serverOutput = Pipe()
        server.standardOutput = serverOutput
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        var address = ""
        var buffer = Data()
        while address.isEmpty {
            let chunk = serverOutput.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw CLIError("the server exited before listening") }
            buffer.append(chunk)
            if let line = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first(where: { $0.hasPrefix("listening ") }) {
                address = String(line.dropFirst("listening ".count))
            }
        }
        _ = try BenchCommon.runQuiver(["collection", "create", "bench", "--dim", String(dimension), "--metric", "l2", "--server", address])
        let started = ContinuousClock.now
        let online = try Self.json(
            try BenchCommon.runQuiver(["import", "bench", file, "--pipeline", String(pipeline), "--json", "--server", address] + batchArguments))
        while true {
            let described = try Self.json(try BenchCommon.runQuiver(["collection", "describe", "bench", "--json", "--server", address]))
            if described["pending"] as? Bool == false { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let onlineIndexed = (ContinuousClock.now - started).seconds
        server.terminate()
        server.waitUntilExit()
        let onlineRate = online["records_per_second"] as? Double ?? 0
        print(
            "online (through the server, sync=always, \(pipeline) batches in flight): \(BenchEngine.format(onlineRate)) vectors/s to acknowledged (\(String(format: "%.1f", online["seconds"] as? Double ?? 0)) s)  (target ≥ 100,000); every segment indexed \(String(format: "%.1f", onlineIndexed)) s after the start")

        // Offline: the collection is created, the database closed, then `import --data-dir`.
        let database = try await Database.open(path: work + "/offline", options: BenchEngine.options(.always))
        _ = try await database.createCollection(CollectionSchema(name: "bench", dimension: dimension, metric: .l2))
        try await database.close()
        let offline = try Self.json(
            try BenchCommon.runQuiver(["import", "bench", file, "--data-dir", work + "/offline", "--json"] + batchArguments))
        let offlineRate = offline["records_per_second"] as? Double ?? 0
        print(
            "offline (--data-dir, straight into the stopped database): \(BenchEngine.format(offlineRate)) vectors/s before index builds (\(String(format: "%.1f", offline["seconds"] as? Double ?? 0)) s)  (target ≥ 300,000); every segment indexed \(String(format: "%.1f", offline["indexed_seconds"] as? Double ?? 0)) s after the start")
    }

    static func json(_ text: String) throws -> [String: Any] {
        guard let line = text.split(separator: "\n").last,
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw CLIError("expected a JSON object, got: \(text)") }
        return object
    }
}
