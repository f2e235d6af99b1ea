import ArgumentParser
import Foundation
import QuiverClient
import QuiverCore
import QuiverEngine
import QuiverWire

/// `quiver-bench load`: closed-loop single-query searches for a fixed time from N concurrent
/// callers, either through a server (`--server`: one `QuiverClient`, one connection, per caller)
/// or in-process (`--data-dir`: the engine opened on a stopped database, N tasks calling
/// `Database.search`). Each caller sends its next query when the last one is answered, cycling
/// through the queries from its own offset. Prints one JSON line: calls, seconds, qps, p50_ms,
/// p99_ms. `scripts/bench-server-load.sh` runs it beside Python grpcio clients (docs/benchmarks.md,
/// "The cost of a call").
struct BenchLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Closed-loop single-query search load, through a server or in-process; one JSON line of QPS and latency."
    )

    @Option(help: "HOST:PORT of a running server.") var server: String?
    @Option(help: "A stopped database to search in-process instead.") var dataDir: String?
    @Option(help: "Collection searched.") var collection = "bench"
    @Option(help: "Queries: a .npy file of float32 rows of the collection's dimension.") var queries: String
    @Option(help: "Concurrent callers, 1–1024.") var clients = 1
    @Option(help: "Seconds of load after one second of warm-up.") var seconds = 10.0
    @Option(help: "Lists probed (default: the collection's recall target).") var nprobe: Int?
    @Option(help: "Neighbours per query.") var k = 10

    func validate() throws {
        guard (server == nil) != (dataDir == nil) else { throw ValidationError("give --server or --data-dir") }
        guard (1...1024).contains(clients) else { throw ValidationError("--clients is 1–1024") }
        guard seconds > 0, seconds <= 3_600 else { throw ValidationError("--seconds is in (0, 3600]") }
    }

    mutating func run() async throws {
        let rows = try Self.readNpy(queries)
        let options = SearchOptions(nprobe: nprobe)
        let (collection, k, seconds, clients) = (self.collection, self.k, self.seconds, self.clients)
        let latencies: [[Double]]
        if let server {
            let address = try ServerAddress(parsing: server)
            latencies = try await Self.load(clients: clients, seconds: seconds) { caller, deadline, warm in
                try await QuiverClient.withClient(QuiverClient.Options(server: address)) { client in
                    try await Self.loop(caller, rows, deadline, warm) { query in
                        _ = try await client.search(collection, queries: [query], k: k, options: options)
                    }
                }
            }
        } else {
            let database = try await Database.open(path: dataDir!)
            latencies = try await Self.load(clients: clients, seconds: seconds) { caller, deadline, warm in
                try await Self.loop(caller, rows, deadline, warm) { query in
                    _ = try await database.search(collection, queries: [query], k: k, options: options)
                }
            }
            try await database.close()
        }
        let all = latencies.flatMap { $0 }.sorted()
        func percentile(_ p: Double) -> Double { all.isEmpty ? 0 : all[min(all.count - 1, Int(Double(all.count) * p))] * 1_000 }
        let line: [String: Any] = [
            "clients": clients, "calls": all.count, "seconds": seconds, "qps": Double(all.count) / seconds,
            "p50_ms": percentile(0.5), "p99_ms": percentile(0.99),
        ]
        let json = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    /// Runs `clients` callers until one second of warm-up plus `seconds` have passed; each returns
    /// the latencies of the calls it began after the warm-up.
    private static func load(
        clients: Int, seconds: Double,
        _ caller: @escaping @Sendable (Int, ContinuousClock.Instant, ContinuousClock.Instant) async throws -> [Double]
    ) async throws -> [[Double]] {
        let warm = ContinuousClock.now + .seconds(1)
        let deadline = warm + .milliseconds(Int64(seconds * 1_000))
        return try await withThrowingTaskGroup(of: [Double].self) { group in
            for c in 0..<clients { group.addTask { try await caller(c, deadline, warm) } }
            var all: [[Double]] = []
            for try await latencies in group { all.append(latencies) }
            return all
        }
    }

    private static func loop(
        _ caller: Int, _ rows: [[Float]], _ deadline: ContinuousClock.Instant, _ warm: ContinuousClock.Instant,
        _ search: ([Float]) async throws -> Void
    ) async throws -> [Double] {
        var latencies: [Double] = []
        var i = caller * 7919
        while true {
            let started = ContinuousClock.now
            if started >= deadline { return latencies }
            try await search(rows[i % rows.count])
            i += 1
            if started >= warm {
                let elapsed = ContinuousClock.now - started
                latencies.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
        }
    }

    /// A C-order 2-D `<f4` array from a .npy file (format versions 1–3).
    static func readNpy(_ path: String) throws -> [[Float]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count > 10, data.prefix(6) == Data([0x93]) + Data("NUMPY".utf8) else { throw ValidationError("\(path): not a .npy file") }
        let major = data[6]
        let headerLength = major == 1 ? Int(data[8]) | Int(data[9]) << 8 : Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24
        let start = major == 1 ? 10 : 12
        let header = String(decoding: data[start..<(start + headerLength)], as: UTF8.self)
        guard header.contains("'descr': '<f4'"), header.contains("'fortran_order': False"),
            let shape = header.firstMatch(of: /'shape': \((\d+), (\d+)\)/), let rows = Int(shape.1), let columns = Int(shape.2)
        else { throw ValidationError("\(path): need a C-order 2-D float32 array, got \(header)") }
        let body = data[(start + headerLength)...]
        guard body.count >= rows * columns * 4 else { throw ValidationError("\(path): shorter than its shape") }
        // The header's length keeps the data 16-byte aligned in the file, not in memory.
        let floats = body.withUnsafeBytes { raw in (0..<(rows * columns)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        return (0..<rows).map { Array(floats[($0 * columns)..<(($0 + 1) * columns)]) }
    }
}
