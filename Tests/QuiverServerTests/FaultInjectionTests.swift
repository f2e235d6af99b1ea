import Foundation
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real `quiver serve` whose file writes fail on purpose: the fault-injection library
/// (`Sources/CFaultInjection`, loaded with LD_PRELOAD) fails writes, syncs, preallocations or
/// renames of chosen files with ENOSPC or EIO while a control file exists. Each test injects a
/// fault in one phase — writes, index builds, compaction, a backup, the open itself, a WAL fsync —
/// and checks afterwards: every acknowledged write is intact (after a `kill -9` and a restart too),
/// no torn index file is served, the server keeps serving reads and refuses writes cleanly, and
/// everything recovers once the fault clears.
///
/// Each test prints a line `fault injection: PHASE: N faults (KIND COUNT, …); A acknowledged
/// batches checked, L lost`.
@Suite(.serialized) struct FaultInjectionTests {
    static let dimension = 8
    static let batch = 50

    /// A server process with the fault-injection library and its control and log files.
    struct FaultyServer {
        let server: TestServer
        let control: String
        let log: String

        /// Starts failing the calls these rules name (see quiver_fault_injection.h). Paths in rules
        /// must be as the kernel reports them (`FaultyServer.path`).
        func inject(_ rules: [String]) throws {
            try (rules.joined(separator: "\n") + "\n").write(toFile: control, atomically: true, encoding: .utf8)
        }

        /// Ends the faults: the disk has room again.
        func clear() { unlink(control) }

        /// The faults injected so far, by "OPERATION ERRNO FILE-KIND".
        func injected() -> [String: Int] {
            guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [:] }
            var counts: [String: Int] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
                guard parts.count == 3 else { continue }
                let file = (parts[2] as NSString).lastPathComponent
                let kind =
                    file.hasSuffix(".log") ? "WAL" : file.hasSuffix(".sst") ? "SST" : file.hasPrefix("LOG") ? "LOG"
                    : file.hasSuffix(".ivf") || file.hasSuffix(".ivf.tmp") ? "index file" : file.hasPrefix("MANIFEST") ? "MANIFEST" : "other"
                counts["\(parts[0]) \(parts[1]) \(kind)", default: 0] += 1
            }
            return counts
        }

        func report(_ phase: String, acknowledged: Int, lost: Int) {
            let counts = injected()
            let total = counts.values.reduce(0, +)
            let kinds = counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("fault injection: \(phase): \(total) faults (\(kinds)); \(acknowledged) acknowledged batches checked, \(lost) lost")
        }
    }

    /// `path` as the kernel names an open file (no doubled or trailing slashes), for rules.
    static func path(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    static var library: String { ChildProcess.productsDirectory.appendingPathComponent("libQuiverFaultInjection.so").path }

    static func start(_ data: TemporaryDirectory, control: String, log: String, arguments: [String] = []) async throws -> FaultyServer {
        try #require(FileManager.default.fileExists(atPath: library), "\(library) is missing: build all products (swift build --build-tests)")
        let server = try await TestServer(
            dataDirectory: data, arguments: ["--maintenance-retry-seconds", "1"] + arguments,
            environment: ["LD_PRELOAD": library, "QUIVER_FAULT_CONTROL": control, "QUIVER_FAULT_LOG": log])
        return FaultyServer(server: server, control: control, log: log)
    }

    static func schema(_ name: String = "f") -> CollectionSchema {
        CollectionSchema(
            name: name, dimension: dimension, metric: .l2, fields: [FieldSchema(name: "n", type: .int64)],
            index: IndexSettings(codes: .flat, nlist: 8, segmentRows: 256))
    }

    static func vector(_ id: UInt64) -> [Float] {
        var rng = SeededRandom(seed: id &* 31 &+ 7)
        return (0..<dimension).map { _ in Float(Int.random(in: -8...8, using: &rng)) }
    }

    static func records(batch b: Int) -> [Record] {
        (0..<batch).map { i in
            let id = UInt64(b * batch + i)
            return Record(id: RecordID(id), vector: vector(id), fields: ["n": .int64(Int64(id))])
        }
    }

    /// Batches `0..<acknowledged` are all there, whole, with their vectors; the batch after them
    /// (in flight when things failed) is whole or absent. Returns the batches found lost.
    static func check(_ client: QuiverClient, acknowledged: Int, collection: String = "f") async throws -> Int {
        guard acknowledged > 0 else { return 0 }
        let ids = (0..<(acknowledged * batch)).map { RecordID(UInt64($0)) }
        let stored = try await client.get(collection, ids: ids, includeVectors: true)
        var lost = Set<Int>()
        for (id, record) in zip(ids, stored) where record?.vector != vector(id.rawValue) { lost.insert(Int(id.rawValue) / batch) }
        let next = try await client.get(collection, ids: records(batch: acknowledged).map(\.id)).filter { $0 != nil }.count
        #expect(next == 0 || next == batch, "half a batch: \(next) of \(batch)")
        return lost.count
    }

    /// Exact nearest neighbours over the records of batches `0..<batches`.
    static func oracle(batches: Int) -> BruteForceOracle {
        var oracle = BruteForceOracle(metric: .l2, dimension: dimension)
        for b in 0..<batches { for record in records(batch: b) { oracle.upsert(record.id, record.vector) } }
        return oracle
    }

    /// Searches `queries` and compares with the oracle (ids and scores).
    static func expectExact(_ client: QuiverClient, _ oracle: BruteForceOracle, nprobe: Int? = 8, _ context: String) async throws {
        var rng = SeededRandom(seed: 99)
        let queries = (0..<5).map { _ in (0..<dimension).map { _ in Float(Int.random(in: -8...8, using: &rng)) } }
        let hits = try await client.search("f", queries: queries, k: 10, options: SearchOptions(nprobe: nprobe))
        for (q, got) in hits.enumerated() {
            let want = oracle.search(queries[q], k: 10)
            #expect(got.map(\.id) == want.map(\.id) && got.map { Double($0.score) } == want.map(\.score), "\(context): query \(q)")
        }
    }

    /// A full disk while writes stream in: each write fails with RESOURCE_EXHAUSTED/diskFull and
    /// writes nothing, reads go on and see every acknowledged write, writes resume by themselves
    /// once the disk has room (no restart — RocksDB's error used to be sticky), and after a kill -9
    /// every acknowledged batch is there.
    @Test func aFullDiskDuringWritesRefusesThenRecoversWithoutARestart() async throws {
        let data = TemporaryDirectory()
        let files = TemporaryDirectory()
        var faulty = try await Self.start(data, control: files.child("control"), log: files.child("faults"))
        var acknowledged = 0
        var refused = 0
        try await faulty.server.withClient { client async throws in
            _ = try await client.createCollection(Self.schema())
            for _ in 0..<6 {
                _ = try await client.upsert("f", Self.records(batch: acknowledged))
                acknowledged += 1
            }
            try faulty.inject(["any ENOSPC \(Self.path(data.path))/"])
            for _ in 0..<5 {
                let error = await thrownError { _ = try await client.upsert("f", Self.records(batch: acknowledged)) }
                #expect(error?.code == .resourceExhausted && error?.reason == .diskFull, "\(String(describing: error))")
                refused += error == nil ? 0 : 1
                if error == nil { acknowledged += 1 }
                // Reads are untouched by the full disk.
                try await Self.expectExact(client, Self.oracle(batches: acknowledged), "during the fault")
                #expect(try await client.count("f") == acknowledged * Self.batch)
            }
            faulty.clear()
            try await waitUntil("a write after the disk has room again", timeout: .seconds(60), interval: .milliseconds(100)) {
                (try? await client.upsert("f", Self.records(batch: acknowledged))) != nil
            }
            acknowledged += 1
            for _ in 0..<3 {
                _ = try await client.upsert("f", Self.records(batch: acknowledged))
                acknowledged += 1
            }
        }
        #expect(refused == 5)
        try await faulty.server.kill()
        faulty = try await Self.start(data, control: files.child("control"), log: files.child("faults"))
        let lost = try await faulty.server.withClient { client async throws in
            try await Self.expectExact(client, Self.oracle(batches: acknowledged), "after a kill -9 and a restart")
            return try await Self.check(client, acknowledged: acknowledged)
        }
        #expect(lost == 0)
        faulty.report("writes (full disk, kill -9, restart)", acknowledged: acknowledged, lost: lost)
        #expect(try await faulty.server.stop() == 0)
    }

    /// A full disk while sealed segments are indexed: the builds fail and are retried, the
    /// segments stay searchable exactly throughout, no index file (whole or torn) is left or
    /// served, and the builds succeed once the disk has room.
    @Test func aFullDiskDuringIndexBuildsKeepsSegmentsSearchableAndRetries() async throws {
        let data = TemporaryDirectory()
        let files = TemporaryDirectory()
        let faulty = try await Self.start(data, control: files.child("control"), log: files.child("faults"))
        let batches = 14  // 700 rows: two full segments of 256 and a growing one
        try await faulty.server.withClient { client async throws in
            _ = try await client.createCollection(Self.schema())
            try faulty.inject(["write ENOSPC .ivf", "allocate ENOSPC .ivf"])
            for b in 0..<batches { _ = try await client.upsert("f", Self.records(batch: b)) }
            try await waitUntil("a failed index build", timeout: .seconds(60), interval: .milliseconds(20)) {
                faulty.injected().keys.contains { $0.hasSuffix("index file") }
            }
            let (segments, _) = try await client.listSegments("f")
            #expect(segments.allSatisfy { $0.phase != .indexed }, "\(segments)")
            // No whole file: a build that failed left nothing under its name. (A retry may be
            // writing its temporary file right now; none may remain once the builds are done.)
            let indexFiles = try FileManager.default.subpathsOfDirectory(atPath: data.path + "/segments")
                .filter { $0.hasSuffix(".ivf") }
            #expect(indexFiles.isEmpty, "index files under a full disk: \(indexFiles)")
            try await Self.expectExact(client, Self.oracle(batches: batches), "while builds fail")
            faulty.clear()
            try await waitUntil("both sealed segments indexed", timeout: .seconds(120), interval: .milliseconds(50)) {
                try await client.listSegments("f").segments.filter { $0.phase == .indexed }.count == 2
            }
            try await Self.expectExact(client, Self.oracle(batches: batches), nprobe: 8, "after the builds")
            let temporary = try FileManager.default.subpathsOfDirectory(atPath: data.path + "/segments").filter { $0.hasSuffix(".tmp") }
            #expect(temporary.isEmpty, "temporary index files left by the failed builds: \(temporary)")
            let lost = try await Self.check(client, acknowledged: batches)
            #expect(lost == 0)
            faulty.report("index builds", acknowledged: batches, lost: lost)
        }
        #expect(try await faulty.server.stop() == 0)
    }

    /// A full disk while compaction rewrites segments: the rewrite fails, the old segments keep
    /// serving (exactly the same results), and it succeeds once the disk has room.
    @Test func aFullDiskDuringCompactionKeepsTheOldSegments() async throws {
        let data = TemporaryDirectory()
        let files = TemporaryDirectory()
        let faulty = try await Self.start(data, control: files.child("control"), log: files.child("faults"))
        let batches = 16
        try await faulty.server.withClient { client async throws in
            _ = try await client.createCollection(Self.schema())
            for b in 0..<batches { _ = try await client.upsert("f", Self.records(batch: b)) }
            _ = try await client.segments("f", .seal, wait: true)
            let before = try await client.listSegments("f").segments.filter { $0.phase == .indexed }.map(\.id)
            #expect(before.count >= 3, "\(before)")
            // Delete a third of the rows, then compact under a full disk.
            let deleted = (0..<(batches * Self.batch)).filter { $0 % 3 == 0 }.map { RecordID(UInt64($0)) }
            _ = try await client.delete("f", ids: deleted)
            var oracle = Self.oracle(batches: batches)
            for id in deleted { oracle.delete(id) }
            try faulty.inject(["write ENOSPC .ivf", "allocate ENOSPC .ivf"])
            _ = try await client.segments("f", .compact)
            try await waitUntil("a failed compaction", timeout: .seconds(60), interval: .milliseconds(20)) {
                faulty.injected().keys.contains { $0.hasSuffix("index file") }
            }
            #expect(try await client.listSegments("f").segments.filter { $0.phase == .indexed }.map(\.id) == before)
            try await Self.expectExact(client, oracle, "while compaction fails")
            faulty.clear()
            try await waitUntil("the compaction", timeout: .seconds(120), interval: .milliseconds(50)) {
                let segments = try await client.listSegments("f").segments
                return segments.filter { $0.phase == .indexed }.map(\.id) != before && segments.allSatisfy { $0.deletedRows == 0 }
            }
            try await Self.expectExact(client, oracle, "after the compaction")
            faulty.report("compaction", acknowledged: batches, lost: 0)
        }
        #expect(try await faulty.server.stop() == 0)
    }

    /// A full disk while a backup is written: the backup fails with the disk's error and leaves
    /// no directory behind, the server goes on serving and writing (its own disk has room), and
    /// the next backup succeeds and restores every row.
    @Test func aFullDiskDuringABackupFailsItCleanly() async throws {
        let data = TemporaryDirectory()
        let files = TemporaryDirectory()
        let backups = TemporaryDirectory()
        let faulty = try await Self.start(data, control: files.child("control"), log: files.child("faults"))
        var acknowledged = 0
        try await faulty.server.withClient { client async throws in
            _ = try await client.createCollection(Self.schema())
            for _ in 0..<12 {
                _ = try await client.upsert("f", Self.records(batch: acknowledged))
                acknowledged += 1
            }
            _ = try await client.segments("f", .seal, wait: true)
            try faulty.inject(["any ENOSPC \(Self.path(backups.path))/"])
            let error = await thrownError { _ = try await client.backup(to: backups.child("one")) }
            #expect(error?.reason == .diskFull || error?.code == .io, "\(String(describing: error))")
            #expect(!FileManager.default.fileExists(atPath: backups.child("one")), "a failed backup left its directory")
            _ = try await client.upsert("f", Self.records(batch: acknowledged))
            acknowledged += 1
            faulty.clear()
            let summary = try await client.backup(to: backups.child("one"))
            #expect(summary.collections == 1 && summary.segmentFiles > 0)
        }
        #expect(try await faulty.server.stop() == 0)
        let restored = TemporaryDirectory()
        try FileManager.default.removeItem(atPath: restored.path)
        let restore = try ChildProcess("quiver", arguments: ["restore", backups.child("one"), "--data-dir", restored.path, "--json"])
        #expect(try await restore.waitForExit().status == 0, "\(restore.stderr)")
        let server = try await TestServer(dataDirectory: restored)
        let lost = try await server.withClient { client async throws in try await Self.check(client, acknowledged: acknowledged) }
        #expect(lost == 0)
        faulty.report("backup", acknowledged: acknowledged, lost: lost)
        try await server.stop()
    }

    /// A database whose disk is full opens anyway: after a kill -9 its WAL holds writes that were
    /// never flushed, and with no room for SST files it used to refuse to start. Now the WAL is
    /// replayed into memory; the server serves every acknowledged write, takes new ones (the WAL
    /// has room), and a SIGTERM still shuts it down cleanly although the final flush fails.
    @Test func aDatabaseOnAFullDiskOpensAndShutsDownCleanly() async throws {
        let data = TemporaryDirectory()
        let files = TemporaryDirectory()
        var faulty = try await Self.start(data, control: files.child("control"), log: files.child("faults"))
        var acknowledged = 0
        try await faulty.server.withClient { client async throws in
            _ = try await client.createCollection(Self.schema())
            for _ in 0..<8 {
                _ = try await client.upsert("f", Self.records(batch: acknowledged))
                acknowledged += 1
            }
        }
        try await faulty.server.kill()
        try faulty.inject(["write ENOSPC .sst", "allocate ENOSPC .sst"])
        faulty = try await Self.start(data, control: files.child("control"), log: files.child("faults"))
        try await faulty.server.withClient { client async throws in
            #expect(try await Self.check(client, acknowledged: acknowledged) == 0)
            _ = try await client.upsert("f", Self.records(batch: acknowledged))
            acknowledged += 1
        }
        #expect(try await faulty.server.stop() == 0, "\(faulty.server.child.stderr.suffix(2_000))")
        #expect(faulty.server.child.stderr.contains("memtables not flushed"))
        #expect(faulty.injected().keys.contains { $0.hasSuffix("SST") })
        faulty.clear()
        let server = try await TestServer(dataDirectory: data)
        let lost = try await server.withClient { client async throws in
            try await Self.expectExact(client, Self.oracle(batches: acknowledged), "after the restart")
            return try await Self.check(client, acknowledged: acknowledged)
        }
        #expect(lost == 0)
        faulty.report("open and shutdown on a full disk", acknowledged: acknowledged, lost: lost)
        try await server.stop()
    }

    /// A WAL fsync that fails (EIO): that write is not acknowledged, reads go on, and the server
    /// still shuts down cleanly; after a restart every acknowledged write is there.
    @Test func aFailingWALSyncIsNotAcknowledged() async throws {
        let data = TemporaryDirectory()
        let files = TemporaryDirectory()
        let faulty = try await Self.start(data, control: files.child("control"), log: files.child("faults"))
        var acknowledged = 0
        try await faulty.server.withClient { client async throws in
            _ = try await client.createCollection(Self.schema())
            for _ in 0..<5 {
                _ = try await client.upsert("f", Self.records(batch: acknowledged))
                acknowledged += 1
            }
            try faulty.inject(["sync EIO .log"])
            let error = await thrownError { _ = try await client.upsert("f", Self.records(batch: acknowledged)) }
            #expect(error != nil, "a write whose WAL fsync failed was acknowledged")
            #expect(error?.code == .io || error?.code == .resourceExhausted, "\(String(describing: error))")
            try await Self.expectExact(client, Self.oracle(batches: acknowledged), "after the failed fsync")
        }
        #expect(try await faulty.server.stop() == 0, "\(faulty.server.child.stderr.suffix(2_000))")
        faulty.clear()
        let server = try await TestServer(dataDirectory: data)
        let lost = try await server.withClient { client async throws in try await Self.check(client, acknowledged: acknowledged) }
        #expect(lost == 0)
        faulty.report("WAL fsync (EIO)", acknowledged: acknowledged, lost: lost)
        try await server.stop()
    }
}
