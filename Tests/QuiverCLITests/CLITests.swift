import Foundation
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import QuiverWire
import Testing

/// The `quiver` CLI as a user runs it: every verb against a real server process, output parsed
/// (human and --json) and compared with what the Swift client sees.
@Suite struct CLITests {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
        func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed]) }
    }

    static func quiver(_ arguments: [String], environment: [String: String] = [:]) async throws -> Run {
        var env = ProcessInfo.processInfo.environment
        env["QUIVER_SERVER"] = nil
        env["QUIVER_API_KEY"] = nil
        env.merge(environment) { $1 }
        let child = try ChildProcess("quiver", arguments: arguments, environment: env)
        let exit = try await child.waitForExit()
        return Run(status: exit.signaled ? -1 : exit.status, stdout: child.stdout, stderr: child.stderr)
    }

    static func writeFvecs(_ vectors: [[Float]], to path: String) throws {
        var data = Data()
        for v in vectors {
            withUnsafeBytes(of: Int32(v.count).littleEndian) { data.append(contentsOf: $0) }
            v.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    static func writeIvecs(_ ids: [Int32], to path: String) throws {
        var data = Data()
        for id in ids {
            withUnsafeBytes(of: Int32(1).littleEndian) { data.append(contentsOf: $0) }
            withUnsafeBytes(of: id.littleEndian) { data.append(contentsOf: $0) }
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    static func writeNpy(descr: String, shape: [Int], payload: Data, to path: String) throws {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(payload)
        try data.write(to: URL(fileURLWithPath: path))
    }

    @Test func everyVerbAgainstARealServer() async throws {
        let server = try await TestServer()
        let files = TemporaryDirectory()
        let s = ["--server", server.address]

        var run = try await Self.quiver(["health"] + s)
        #expect(run.status == 0 && run.stdout == "serving\n")

        run = try await Self.quiver(
            ["collection", "create", "docs", "--dim", "4", "--metric", "l2", "--field", "title:string:required",
             "--field", "year:int64", "--field", "labels:tags"] + s)
        #expect(run.status == 0, "\(run.stderr)")
        run = try await Self.quiver(["collection", "create", "bad", "--dim", "0", "--metric", "l2"] + s)
        #expect(run.status == 1 && run.stderr.contains("error:") && run.stderr.contains("invalidDimension"))
        run = try await Self.quiver(["collection", "create", "bad", "--dim", "4", "--metric", "hamming"] + s)
        #expect(run.status != 0 && run.stderr.contains("--metric must be l2, ip or cosine"))

        // JSON Lines, with every field type; one line shaped like a user would write it.
        var lines: [String] = []
        for i in 0..<50 {
            lines.append(#"{"id": \#(i), "vector": [\#(i), 1, 0.5, -2], "fields": {"title": "doc \#(i)", "year": \#(2000 + i), "labels": ["a", "b\#(i % 3)"]}}"#)
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: files.child("docs.jsonl"), atomically: true, encoding: .utf8)
        run = try await Self.quiver(["upsert", "docs", files.child("docs.jsonl")] + s)
        #expect(run.status == 0 && run.stdout.hasPrefix("upserted 50 records in 1 batches (50 new, 0 replaced)"), "\(run.stdout) \(run.stderr)")

        // A bad line is reported with file and line, and nothing of the file is written.
        try (lines[0] + "\n" + lines[1] + "\n" + #"{"id": 999, "vector": [1,2,3,4], "fields": {"color": "red"}}"# + "\n")
            .write(toFile: files.child("bad.jsonl"), atomically: true, encoding: .utf8)
        run = try await Self.quiver(["upsert", "docs", files.child("bad.jsonl")] + s)
        #expect(run.status == 1 && run.stderr.contains("bad.jsonl:3: unknown field \"color\""), "\(run.stderr)")

        // Collections as JSON.
        run = try await Self.quiver(["collection", "list", "--json"] + s)
        let list = try #require(try run.json() as? [[String: Any]])
        #expect(list.map { $0["name"] as? String } == ["docs"] && list[0]["rows"] as? Int == 50)
        run = try await Self.quiver(["collection", "describe", "docs", "--json"] + s)
        let described = try #require(try run.json() as? [String: Any])
        let fields = try #require(described["fields"] as? [[String: Any]])
        #expect(fields.map { $0["name"] as? String } == ["title", "year", "labels"])
        #expect(fields.map { $0["required"] as? Bool } == [true, false, false])
        run = try await Self.quiver(["collection", "describe", "docs"] + s)
        #expect(run.stdout.contains("dimension: 4") && run.stdout.contains("title   string  required"))

        // .fvecs with .ivecs ids, and .npy with .npy ids.
        run = try await Self.quiver(["collection", "create", "vecs", "--dim", "8", "--metric", "ip"] + s)
        var rng = SeededRandom(seed: 5)
        let vectors = (0..<100).map { _ in (0..<8).map { _ in Float(Int.random(in: -3...3, using: &rng)) } }
        try Self.writeFvecs(vectors, to: files.child("v.fvecs"))
        try Self.writeIvecs((0..<100).map { Int32(500 + $0) }, to: files.child("ids.ivecs"))
        run = try await Self.quiver(["upsert", "vecs", files.child("v.fvecs"), "--ids", files.child("ids.ivecs"), "--batch-size", "30", "--json"] + s)
        let upserted = try #require(try run.json() as? [String: Any], "\(run.stderr)")
        #expect(upserted["records"] as? Int == 100 && upserted["batches"] as? Int == 4)
        let npyVectors = (0..<30).map { _ in (0..<8).map { _ in Float(Int.random(in: -3...3, using: &rng)) } }
        try Self.writeNpy(
            descr: "<f4", shape: [30, 8], payload: Array(npyVectors.joined()).withUnsafeBufferPointer { Data(buffer: $0) },
            to: files.child("v.npy"))
        try Self.writeNpy(
            descr: "<i8", shape: [30], payload: (0..<30).map { Int64(900 + $0) }.withUnsafeBufferPointer { Data(buffer: $0) },
            to: files.child("ids.npy"))
        run = try await Self.quiver(["upsert", "vecs", files.child("v.npy"), "--ids", files.child("ids.npy")] + s)
        #expect(run.status == 0, "\(run.stderr)")
        // .npy without ids gets ids 0..n-1.
        run = try await Self.quiver(["upsert", "vecs", files.child("v.npy")] + s)
        #expect(run.status == 0)

        try await server.withClient { client async throws in
            #expect(try await client.describeCollection("vecs").rows == 160)
            let stored = try await client.get("vecs", ids: [500, 599, 900, 929, 0, 29])
            #expect(stored.map { $0?.vector } == [vectors[0], vectors[99], npyVectors[0], npyVectors[29], npyVectors[0], npyVectors[29]])

            // search --vector --json equals the client's search.
            run = try await Self.quiver(["search", "docs", "--vector", "3,1,0.5,-2", "-k", "5", "--field", "title", "--json"] + s)
            let want = try await client.search("docs", queries: [[3, 1, 0.5, -2]], k: 5, options: SearchOptions(fields: .only(["title"])))
            let result = try #require(try run.json() as? [String: Any])
            #expect((result["ids"] as? [Int])?.map(UInt64.init) == want[0].map(\.id.rawValue))
            #expect((result["scores"] as? [Double])?.map(Float.init) == want[0].map(\.score))
            #expect((result["fields"] as? [[String: String]])?.map { $0["title"] } == want[0].map {
                if case .string(let t)? = $0.fields?["title"] { t } else { nil }
            })

            // search --queries: one JSON line per query, in order.
            try Self.writeFvecs(Array(vectors.prefix(7)), to: files.child("q.fvecs"))
            run = try await Self.quiver(["search", "vecs", "--queries", files.child("q.fvecs"), "-k", "3", "--json"] + s)
            let expected = try await client.search("vecs", queries: Array(vectors.prefix(7)), k: 3)
            #expect(run.lines.count == 7)
            for (line, hits) in zip(run.lines, expected) {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect((object["ids"] as? [Int])?.map(UInt64.init) == hits.map(\.id.rawValue))
            }
        }

        // Human search output.
        run = try await Self.quiver(["search", "docs", "--vector", "3,1,0.5,-2", "-k", "2", "--all-fields"] + s)
        #expect(run.lines.first == "query 0: 2 hits" && run.stdout.contains("title=\"doc 3\""))

        // get and delete.
        run = try await Self.quiver(["get", "docs", "1", "2", "77", "--json"] + s)
        #expect(run.lines.count == 3 && run.lines[2] == #"{"id":77,"missing":true}"#)
        #expect(run.lines[0] == #"{"id":1,"vector":[1,1,0.5,-2],"fields":{"labels":["a","b1"],"title":"doc 1","year":2001}}"#)
        run = try await Self.quiver(["delete", "docs", "1", "77"] + s)
        #expect(run.stdout == "deleted 1 of 2 ids\n")

        // The server address from the environment.
        run = try await Self.quiver(["collection", "list"], environment: ["QUIVER_SERVER": server.address])
        #expect(run.status == 0 && run.stdout.contains("docs") && run.stdout.contains("49"))

        // Errors: exit status 1, the message and its reason; --json errors are JSON.
        run = try await Self.quiver(["search", "docs", "--vector", "1,2"] + s)
        #expect(run.status == 1 && run.stderr.contains("dimensionMismatch"))
        run = try await Self.quiver(["get", "nope", "1", "--json"] + s)
        let error = try #require(try JSONSerialization.jsonObject(with: Data(run.stderr.utf8)) as? [String: [String: String]])
        #expect(error["error"]?["reason"] == "collectionNotFound" && run.status == 1)

        run = try await Self.quiver(["collection", "drop", "docs"] + s)
        #expect(run.status == 0 && run.stdout == "dropped collection docs\n")
        try await server.stop()
    }

    /// IVF segments over the wire: a script creates a small-segment collection, loads it, waits on
    /// `describe --json` until nothing is pending, and searches with --nprobe.
    @Test func indexedSegmentsAndPendingWorkOverTheWire() async throws {
        let server = try await TestServer()
        let files = TemporaryDirectory()
        let s = ["--server", server.address]
        var run = try await Self.quiver(
            ["collection", "create", "ivf", "--dim", "8", "--metric", "l2", "--codes", "flat", "--nlist", "8", "--segment-rows", "512"] + s)
        #expect(run.status == 0, "\(run.stderr)")
        var rng = SeededRandom(seed: 12)
        let vectors = (0..<1_300).map { _ in (0..<8).map { _ in Float(Int.random(in: -4...4, using: &rng)) } }
        try Self.writeFvecs(vectors, to: files.child("v.fvecs"))
        run = try await Self.quiver(["upsert", "ivf", files.child("v.fvecs"), "--batch-size", "250"] + s)
        #expect(run.status == 0, "\(run.stderr)")
        var described: [String: Any] = [:]
        try await waitUntil("the background work of ivf to end", timeout: .seconds(120), interval: .milliseconds(100)) {
            run = try await Self.quiver(["collection", "describe", "ivf", "--json"] + s)
            described = try #require(try run.json() as? [String: Any])
            return described["pending"] as? Bool == false
        }
        #expect(described["pending"] as? Bool == false)
        #expect(described["rows"] as? Int == 1_300)
        let segments = try #require(described["segments"] as? [String: Int])
        #expect(segments["indexed"] == 2 && segments["growing"] == 1 && segments["sealed"] == 0, "\(segments)")
        #expect((described["index"] as? [String: Any])?["nlist"] as? Int == 8)
        run = try await Self.quiver(["collection", "describe", "ivf"] + s)
        #expect(run.stdout.contains("segments:  1 growing, 2 indexed"), "\(run.stdout)")

        // nprobe = nlist is exact with flat codes: the CLI's answer equals the client's exact one.
        run = try await Self.quiver(["search", "ivf", "--vector", "1,0,0,0,0,0,0,1", "-k", "10", "--nprobe", "8", "--json"] + s)
        let ids = try #require((try run.json() as? [String: Any])?["ids"] as? [Int])
        try await server.withClient { client async throws in
            let want = try await client.search("ivf", queries: [[1, 0, 0, 0, 0, 0, 0, 1]], k: 10, options: SearchOptions(nprobe: 8))
            #expect(ids.map(UInt64.init) == want[0].map(\.id.rawValue))
            let stats = try await client.stats()
            #expect(stats.indexBuilds == 2 && stats.templateTrainings == 1 && stats.seals == 2)
        }
        run = try await Self.quiver(["search", "ivf", "--vector", "1,0,0,0,0,0,0,1", "--nprobe", "0"] + s)
        #expect(run.status != 0 && run.stderr.contains("--nprobe must be between 1"))
        try await server.stop()
    }

    /// Filters through the CLI binary and a real server: count, get and delete by filter, and a
    /// filtered search with --explain, each checked against the records the test wrote.
    @Test func filtersOverTheWire() async throws {
        let server = try await TestServer()
        let files = TemporaryDirectory()
        let s = ["--server", server.address]
        var run = try await Self.quiver(
            ["collection", "create", "f", "--dim", "4", "--metric", "l2", "--field", "year:int64", "--field", "labels:tags"] + s)
        #expect(run.status == 0, "\(run.stderr)")
        var rng = SeededRandom(seed: 5)
        var records: [(id: Int, vector: [Float], year: Int, labels: [String])] = []
        var lines: [String] = []
        for id in 0..<300 {
            let vector = (0..<4).map { _ in Float(Int.random(in: -9...9, using: &rng)) }
            let year = Int.random(in: 0..<10, using: &rng)
            let labels = ["a", "b", "c"].filter { _ in Bool.random(using: &rng) }
            records.append((id, vector, year, labels))
            let tags = labels.map { "\"\($0)\"" }.joined(separator: ",")
            lines.append("{\"id\": \(id), \"vector\": [\(vector.map { String(Int($0)) }.joined(separator: ","))], \"fields\": {\"year\": \(year), \"labels\": [\(tags)]}}")
        }
        try lines.joined(separator: "\n").write(toFile: files.child("r.jsonl"), atomically: true, encoding: .utf8)
        run = try await Self.quiver(["upsert", "f", files.child("r.jsonl")] + s)
        #expect(run.status == 0, "\(run.stderr)")

        let filter = "year >= 5 and labels contains \"a\""
        let passing = records.filter { $0.year >= 5 && $0.labels.contains("a") }
        run = try await Self.quiver(["count", "f", "--filter", filter, "--json"] + s)
        #expect((try run.json() as? [String: Any])?["count"] as? Int == passing.count, "\(run.stdout) \(run.stderr)")

        run = try await Self.quiver(["get", "f", "--filter", filter, "--limit", "3", "--json"] + s)
        let got = try run.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(got.compactMap { $0?["id"] as? Int } == passing.prefix(3).map(\.id), "\(run.stdout) \(run.stderr)")

        // A filtered search: the hits are the nearest passing records (brute force here).
        let query: [Float] = [1, 2, 3, 4]
        run = try await Self.quiver(["search", "f", "--vector", "1,2,3,4", "-k", "5", "--filter", filter, "--explain", "--json"] + s)
        let result = try #require(try run.json() as? [String: Any], "\(run.stderr)")
        func distance(_ v: [Float]) -> Float { zip(v, query).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        let want = passing.sorted { (distance($0.vector), $0.id) < (distance($1.vector), $1.id) }.prefix(5).map(\.id)
        #expect(result["ids"] as? [Int] == Array(want))
        let explain = try #require(result["explain"] as? [String: Any])
        #expect(explain["passing_rows"] as? Int == passing.count)
        let segments = try #require(explain["segments"] as? [[String: Any]])
        #expect(segments.count == 1 && segments[0]["strategy"] as? String != nil && segments[0]["passing_rows"] as? Int == passing.count)
        run = try await Self.quiver(["search", "f", "--vector", "1,2,3,4", "--filter", filter, "--explain"] + s)
        #expect(run.stdout.contains("STRATEGY") && run.stdout.contains("\(passing.count) rows pass"), "\(run.stdout)")

        // A filter that does not type-check is refused with its position.
        run = try await Self.quiver(["search", "f", "--vector", "1,2,3,4", "--filter", "year == \"x\""] + s)
        #expect(run.status != 0 && run.stderr.contains("column 9"), "\(run.stderr)")

        let doomed = records.filter { $0.year < 2 }.count
        run = try await Self.quiver(["delete", "f", "--filter", "year < 2", "--json"] + s)
        #expect((try run.json() as? [String: Any])?["deleted"] as? Int == doomed, "\(run.stdout) \(run.stderr)")
        run = try await Self.quiver(["count", "f"] + s)
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == String(records.count - doomed))
        run = try await Self.quiver(["delete", "f", "1", "--filter", "year < 2"] + s)
        #expect(run.status != 0 && run.stderr.contains("not both"))
        try await server.stop()
    }

    /// Every `segments` verb and `stats` through the CLI binary and a real server, --json parsed.
    @Test func segmentVerbsOverTheWire() async throws {
        let server = try await TestServer()
        let files = TemporaryDirectory()
        let s = ["--server", server.address]
        func lines(_ run: Run) throws -> [[String: Any]] {
            try run.stdout.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        }
        var rng = SeededRandom(seed: 31)
        let vectors = (0..<700).map { _ in (0..<8).map { _ in Float(Int.random(in: -6...6, using: &rng)) } }
        try Self.writeFvecs(vectors, to: files.child("v.fvecs"))
        for (name, nprobe) in [("c", "8"), ("p", "1")] {
            var run = try await Self.quiver(
                ["collection", "create", name, "--dim", "8", "--metric", "l2", "--nlist", "8", "--nprobe", nprobe, "--segment-rows", "256"] + s)
            #expect(run.status == 0, "\(run.stderr)")
            run = try await Self.quiver(["upsert", name, files.child("v.fvecs"), "--batch-size", "100"] + s)
            #expect(run.status == 0, "\(run.stderr)")
            // Seal the growing rest and wait: three indexed segments.
            run = try await Self.quiver(["segments", "seal", name, "--wait", "--json"] + s)
            let sealed = try lines(run)
            #expect(sealed.map { $0["state"] as? String } == ["indexed", "indexed", "indexed"], "\(run.stdout) \(run.stderr)")
            #expect(sealed.compactMap { $0["rows"] as? Int }.reduce(0, +) == 700)
            #expect(sealed.allSatisfy { ($0["disk_bytes"] as? Int ?? 0) > 0 && $0["nlist"] as? Int == 8 && $0["codes"] as? String == "flat" })
        }

        var run = try await Self.quiver(["segments", "list", "c", "--json"] + s)
        let listed = try lines(run)
        let first = try #require(listed.first?["id"] as? Int)
        // 32 deletes in the first segment (ids 0..<256 are its rows).
        run = try await Self.quiver(["delete", "c"] + (0..<32).map { String($0 * 8) } + s)
        #expect(run.status == 0, "\(run.stderr)")
        run = try await Self.quiver(["segments", "show", "c", String(first), "--check-recall", "50", "--json"] + s)
        let shown = try #require(try run.json() as? [String: Any], "\(run.stderr)")
        #expect(shown["deleted_rows"] as? Int == 32 && shown["tombstone_ratio"] as? Double == 32.0 / 256)
        let lists = try #require(shown["lists"] as? [String: Any])
        #expect(lists["count"] as? Int == 8)
        #expect(abs((lists["mean"] as? Double ?? 0) * 8 - 256) < 1e-9, "\(lists)")
        #expect((lists["imbalance"] as? Double ?? 0) >= 1)
        // At nprobe = nlist the index is exact: recall 1.
        let check = try #require(shown["recall_check"] as? [String: Any])
        #expect(check["queries"] as? Int == 50 && check["nprobe"] as? Int == 8 && check["recall"] as? Double == 1.0, "\(check)")
        // At nprobe 1 of 8 some neighbours are in other lists, but each query finds itself.
        run = try await Self.quiver(["segments", "show", "p", String(first), "--check-recall", "50", "--json"] + s)
        let partial = try #require((try run.json() as? [String: Any])?["recall_check"] as? [String: Any], "\(run.stderr)")
        let recall = partial["recall"] as? Double ?? 0
        #expect(recall >= 0.1 && recall < 1, "\(partial)")
        run = try await Self.quiver(["segments", "show", "c", String(first)] + s)
        #expect(run.stdout.contains("imbalance") && run.stdout.contains("tombstones: 0.125"), "\(run.stdout)")

        // Compaction rewrites the segment with deletes; rebuild gives a segment a new id.
        run = try await Self.quiver(["segments", "compact", "c", "--wait", "--json"] + s)
        let compacted = try lines(run)
        #expect(!compacted.contains { $0["id"] as? Int == first } && compacted.allSatisfy { $0["deleted_rows"] as? Int == 0 }, "\(run.stdout)")
        #expect(compacted.compactMap { $0["rows"] as? Int }.reduce(0, +) == 700 - 32)
        let target = try #require(compacted.last?["id"] as? Int)
        run = try await Self.quiver(["segments", "rebuild", "c", String(target), "--wait", "--json"] + s)
        let rebuilt = try lines(run)
        #expect(!rebuilt.contains { $0["id"] as? Int == target } && rebuilt.count == compacted.count, "\(run.stdout) \(run.stderr)")
        #expect(rebuilt.compactMap { $0["rows"] as? Int }.reduce(0, +) == 700 - 32)

        run = try await Self.quiver(["segments", "show", "c", "999"] + s)
        #expect(run.status != 0 && run.stderr.contains("no segment 999"), "\(run.stderr)")

        run = try await Self.quiver(["stats", "--json"] + s)
        let stats = try #require(try run.json() as? [String: Any])
        let collections = try #require(stats["collections"] as? [[String: Any]])
        let c = try #require(collections.first { $0["name"] as? String == "c" })
        #expect(c["rows"] as? Int == 700 - 32)
        #expect((c["segments"] as? [String: Int])?["indexed"] == rebuilt.count && (c["disk_bytes"] as? Int ?? 0) > 0, "\(c)")
        #expect((stats["compactions"] as? Int ?? 0) >= 2)
        run = try await Self.quiver(["stats"] + s)
        #expect(run.stdout.contains("INDEX FILES") && run.stdout.contains("indexed"), "\(run.stdout)")
        try await server.stop()
    }

    /// `quiver backup` through a serving server, `quiver restore` offline, and a second server on
    /// the restored directory that answers like the first.
    @Test func backupAndRestoreThroughTheCLI() async throws {
        let server = try await TestServer()
        let files = TemporaryDirectory()
        let s = ["--server", server.address]
        var run = try await Self.quiver(["collection", "create", "k", "--dim", "8", "--metric", "l2", "--nlist", "8", "--segment-rows", "256"] + s)
        #expect(run.status == 0, "\(run.stderr)")
        var rng = SeededRandom(seed: 8)
        let vectors = (0..<600).map { _ in (0..<8).map { _ in Float(Int.random(in: -5...5, using: &rng)) } }
        try Self.writeFvecs(vectors, to: files.child("v.fvecs"))
        run = try await Self.quiver(["upsert", "k", files.child("v.fvecs")] + s)
        #expect(run.status == 0, "\(run.stderr)")
        run = try await Self.quiver(["segments", "seal", "k", "--wait"] + s)
        #expect(run.status == 0, "\(run.stderr)")
        run = try await Self.quiver(["backup", files.child("b"), "--json"] + s)
        let backup = try #require(try run.json() as? [String: Any], "\(run.stderr)")
        #expect(backup["collections"] as? Int == 1 && backup["segment_files"] as? Int == 3, "\(backup)")
        run = try await Self.quiver(["backup", files.child("b")] + s)
        #expect(run.status != 0 && run.stderr.contains("not an empty directory"), "\(run.stderr)")
        let query = "1,0,0,0,0,0,0,1"
        run = try await Self.quiver(["search", "k", "--vector", query, "-k", "10", "--nprobe", "8", "--json"] + s)
        let before = try #require((try run.json() as? [String: Any])?["ids"] as? [Int])
        try await server.stop()

        let restoredDirectory = TemporaryDirectory()
        run = try await Self.quiver(["restore", files.child("b"), "--data-dir", restoredDirectory.path, "--json"])
        let restored = try #require(try run.json() as? [String: Any], "\(run.stderr)")
        #expect(restored["rows"] as? Int == 600 && restored["segment_files"] as? Int == 3, "\(restored)")
        let second = try await TestServer(dataDirectory: restoredDirectory)
        run = try await Self.quiver(["search", "k", "--vector", query, "-k", "10", "--nprobe", "8", "--json", "--server", second.address])
        #expect((try run.json() as? [String: Any])?["ids"] as? [Int] == before)
        run = try await Self.quiver(["count", "k", "--server", second.address])
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "600")
        try await second.stop()
        run = try await Self.quiver(["restore", files.child("v.fvecs"), "--data-dir", files.child("r2")])
        #expect(run.status != 0 && run.stderr.contains("not a Quiver backup"), "\(run.stderr)")
    }

    @Test func apiKeyFromTheEnvironment() async throws {
        let dir = TemporaryDirectory()
        let key = "admin-key-for-the-cli-test"
        try "\(key) admin\n".write(toFile: dir.child("keys"), atomically: true, encoding: .utf8)
        let server = try await TestServer(arguments: ["--api-keys", dir.child("keys")])
        var run = try await Self.quiver(["collection", "list", "--server", server.address])
        #expect(run.status == 1 && run.stderr.contains("unauthenticated"))
        run = try await Self.quiver(["collection", "list", "--server", server.address], environment: ["QUIVER_API_KEY": key])
        #expect(run.status == 0 && run.stdout == "no collections\n")
        run = try await Self.quiver(["collection", "list", "--server", server.address, "--api-key", key])
        #expect(run.status == 0)
        // health needs no key.
        run = try await Self.quiver(["health", "--server", server.address])
        #expect(run.status == 0)
        try await server.stop()
    }

    @Test func healthFailsWithoutAServer() async throws {
        // Nothing listens on port 1 of the loopback address.
        let run = try await Self.quiver(["health", "--server", "127.0.0.1:1", "--timeout", "5"])
        #expect(run.status == 1 && run.stderr.hasPrefix("error:"), "\(run.stderr)")
    }

    /// Every verb's `--help` reads as prose: no line ends in a stray backslash (a multi-line
    /// string literal's escaped line continuation), and the text names the verb.
    @Test func helpTextsHaveNoStrayBackslashes() async throws {
        let verbs: [[String]] = [
            [], ["serve"], ["health"], ["collection"], ["collection", "create"], ["collection", "list"], ["collection", "describe"],
            ["collection", "drop"], ["upsert"], ["search"], ["get"], ["delete"], ["count"], ["segments"], ["segments", "list"],
            ["segments", "show"], ["segments", "seal"], ["segments", "compact"], ["segments", "rebuild"], ["stats"], ["import"], ["backup"], ["restore"],
        ]
        for verb in verbs {
            let run = try await Self.quiver(verb + ["--help"])
            #expect(run.status == 0, "quiver \(verb.joined(separator: " ")) --help: \(run.stderr)")
            #expect(run.stdout.contains("USAGE: quiver"), "quiver \(verb.joined(separator: " ")) --help")
            let stray = run.lines.filter { $0.hasSuffix("\\") || $0.contains("\\ ") }
            #expect(stray.isEmpty, "quiver \(verb.joined(separator: " ")) --help: \(stray)")
        }
    }
}
