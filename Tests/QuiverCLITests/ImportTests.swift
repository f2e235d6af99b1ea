import Foundation
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import Testing

/// `quiver import` through the CLI binary: every format, every bad-row kind with its message, a
/// SIGKILL and `--resume`, and the offline path.
@Suite struct ImportTests {
    typealias Run = CLITests.Run

    static func vector(_ id: Int) -> [Float] { [Float(id), Float(id % 7), -Float(id % 13), 0.5] }

    static func create(_ name: String, _ server: TestServer) async throws {
        let run = try await CLITests.quiver(
            ["collection", "create", name, "--dim", "4", "--metric", "l2", "--field", "y:int64", "--field", "t:tags", "--server", server.address])
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test func everyFormatImports() async throws {
        let server = try await TestServer()
        let files = TemporaryDirectory()
        try await Self.create("f", server)
        // fvecs with ivecs ids 1000…, bvecs, npy with npy ids 3000…, jsonl 4000…, csv 5000….
        try CLITests.writeFvecs((0..<300).map { Self.vector(1_000 + $0) }, to: files.child("a.fvecs"))
        try CLITests.writeIvecs((0..<300).map { Int32(1_000 + $0) }, to: files.child("a.ivecs"))
        var bvecs = Data()
        for i in 0..<50 {
            withUnsafeBytes(of: Int32(4).littleEndian) { bvecs.append(contentsOf: $0) }
            bvecs.append(contentsOf: [UInt8(i), 1, 2, 255])
        }
        try bvecs.write(to: URL(fileURLWithPath: files.child("b.bvecs")))
        let npyVectors = (0..<40).flatMap { Self.vector(3_000 + $0) }
        try CLITests.writeNpy(descr: "<f4", shape: [40, 4], payload: npyVectors.withUnsafeBytes { Data($0) }, to: files.child("c.npy"))
        let npyIDs = (0..<40).map { Int64(3_000 + $0) }
        try CLITests.writeNpy(descr: "<i8", shape: [40], payload: npyIDs.withUnsafeBytes { Data($0) }, to: files.child("c-ids.npy"))
        try (0..<20).map { "{\"id\": \(4_000 + $0), \"vector\": [\(Self.vector(4_000 + $0).map { String($0) }.joined(separator: ","))], \"fields\": {\"y\": \($0), \"t\": [\"j\"]}}" }
            .joined(separator: "\n").write(toFile: files.child("d.jsonl"), atomically: true, encoding: .utf8)
        try (["id,vector,y,t"] + (0..<20).map { "\(5_000 + $0),\"[\(Self.vector(5_000 + $0).map { String($0) }.joined(separator: ", "))]\",\($0),\"[\"\"c\"\"]\"" })
            .joined(separator: "\n").write(toFile: files.child("e.csv"), atomically: true, encoding: .utf8)
        let s = ["--server", server.address]
        for arguments in [
            ["a.fvecs", "--ids", "a.ivecs"], ["b.bvecs"], ["c.npy", "--ids", "c-ids.npy"], ["d.jsonl", "e.csv"],
        ] {
            let paths = arguments.map { $0.contains(".") ? files.child($0) : $0 }
            let run = try await CLITests.quiver(["import", "f"] + paths + ["--json"] + s)
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
        }
        try await server.withClient { client async throws in
            #expect(try await client.count("f") == 300 + 50 + 40 + 20 + 20)
            let got = try await client.get("f", ids: [1_000, 1_299, 0, 49, 3_000, 3_039, 4_007, 5_019].map { RecordID($0) })
            #expect(got[0]?.vector == Self.vector(1_000) && got[1]?.vector == Self.vector(1_299))
            #expect(got[2]?.vector == [0, 1, 2, 255] && got[3]?.vector == [49, 1, 2, 255])
            #expect(got[4]?.vector == Self.vector(3_000) && got[5]?.vector == Self.vector(3_039))
            #expect(got[6]?.vector == Self.vector(4_007) && got[6]?.fields == ["y": .int64(7), "t": .tags(["j"])])
            #expect(got[7]?.vector == Self.vector(5_019) && got[7]?.fields == ["y": .int64(19), "t": .tags(["c"])])
        }
        try await server.stop()
    }

    /// One file per bad-row kind, the bad row third of five; batches of one row, so abort keeps
    /// exactly the two rows before it and skip imports the other four.
    @Test(arguments: [
        ("dimension.jsonl", "dimension.jsonl:3: vector has dimension 3, collection \"g\" has 4"),
        ("nan.fvecs", "nan.fvecs row 3: vector component 1 is nan, not a finite number"),
        ("json.jsonl", "json.jsonl:3: not valid JSON"),
        ("vector.csv", "vector.csv:4: vector must be a bracketed list like [0.1, 0.2]"),
        ("type.csv", "type.csv:4: field \"y\": expected int64, got \"x\""),
    ])
    func badRowsAreReportedWithTheirPlace(file: String, message: String) async throws {
        let server = try await TestServer()
        let files = TemporaryDirectory()
        let path = files.child(file)
        let rows = (0..<5).map { Self.vector($0) }
        switch file {
        case "nan.fvecs":
            var vectors = rows
            vectors[2][1] = .nan
            try CLITests.writeFvecs(vectors, to: path)
        case "vector.csv", "type.csv":
            var lines = ["id,vector,y"] + rows.enumerated().map { "\($0.offset),\"[\($0.element.map { String($0) }.joined(separator: ", "))]\",1" }
            lines[3] = file == "vector.csv" ? "2,1 2 3 4,1" : "2,\"[1, 2, 3, 4]\",\"\"\"x\"\"\""
            try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        default:
            var lines = rows.enumerated().map { "{\"id\": \($0.offset), \"vector\": [\($0.element.map { String($0) }.joined(separator: ","))]}" }
            lines[2] = file == "json.jsonl" ? "{\"id\": 2, \"vector\": [1, 2" : "{\"id\": 2, \"vector\": [1, 2, 3]}"
            try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        let s = ["--server", server.address]
        for (collection, policy) in [("g", "abort"), ("h", "skip")] {
            var run = try await CLITests.quiver(
                ["collection", "create", collection, "--dim", "4", "--metric", "l2", "--field", "y:int64"] + s)
            #expect(run.status == 0)
            run = try await CLITests.quiver(["import", collection, path, "--batch-size", "1", "--pipeline", "1", "--on-error", policy] + s)
            let expected = message.replacingOccurrences(of: "collection \"g\"", with: "collection \"\(collection)\"")
            #expect(run.stderr.contains(expected), "\(run.stderr)")
            #expect(run.status == (policy == "abort" ? 1 : 0), "\(run.stderr)")
            try await server.withClient { client async throws in
                let ids = try await client.query(collection, filter: nil, limit: 10).map(\.id.rawValue)
                #expect(ids == (policy == "abort" ? [0, 1] : [0, 1, 3, 4]), "\(policy)")
            }
        }
        try await server.stop()
    }

    @Test func resumeAfterSIGKILLImportsEveryRowOnce() async throws {
        let server = try await TestServer()
        let files = TemporaryDirectory()
        try await Self.create("r", server)
        let total = 200_000
        try CLITests.writeFvecs((0..<total).map { Self.vector($0) }, to: files.child("big.fvecs"))
        let checkpoint = files.child("import.checkpoint")
        let arguments = ["import", "r", files.child("big.fvecs"), "--batch-size", "500", "--pipeline", "2", "--resume", checkpoint, "--server", server.address]
        let child = try ChildProcess("quiver", arguments: arguments)
        // Kill it once a few batches are acknowledged. (A CI run once waited 60 s for that without
        // saying why; the wait now ends when the child does and reports its stderr.)
        var killedAt = 0
        do {
            try await waitUntil("a checkpoint with 5,000 rows imported", timeout: .seconds(120), interval: .milliseconds(1)) {
                guard child.isRunning else { throw ChildProcessError("quiver import exited before 5,000 rows: \(child.stderr)") }
                guard let data = FileManager.default.contents(atPath: checkpoint),
                    let saved = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                    let imported = saved["imported"] as? Int, imported >= 5_000
                else { return false }
                child.signal(SIGKILL)
                killedAt = imported
                return true
            }
        } catch let error as WaitTimedOut {
            let saved = FileManager.default.contents(atPath: checkpoint).map { String(decoding: $0, as: UTF8.self) } ?? "none"
            throw ChildProcessError("\(error); checkpoint: \(saved); quiver import's stderr: \(child.stderr)")
        }
        _ = try await child.waitForExit()
        #expect(killedAt >= 5_000 && killedAt < total, "killed after \(killedAt) rows")
        try await server.withClient { client async throws in
            let count = try await client.count("r")
            #expect(count >= killedAt && count < total, "\(count) rows after the kill")
        }
        let run = try await CLITests.quiver(arguments)
        #expect(run.status == 0 && run.stderr.contains("resuming at"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: checkpoint))
        try await server.withClient { client async throws in
            #expect(try await client.count("r") == total)
            let sample = [0, 1, killedAt - 1, killedAt, killedAt + 1, total - 1].map { RecordID(UInt64($0)) }
            let got = try await client.get("r", ids: sample)
            #expect(zip(sample, got).allSatisfy { $1?.vector == Self.vector(Int($0.rawValue)) })
        }
        try await server.stop()
    }

    @Test func offlineImportIsRefusedWhileServingAndIndexesEverything() async throws {
        let data = TemporaryDirectory()
        let files = TemporaryDirectory()
        try CLITests.writeFvecs((0..<1_000).map { Self.vector($0) }, to: files.child("v.fvecs"))
        var server = try await TestServer(dataDirectory: data)
        var run = try await CLITests.quiver(
            ["collection", "create", "o", "--dim", "4", "--metric", "l2", "--segment-rows", "256", "--server", server.address])
        #expect(run.status == 0)
        run = try await CLITests.quiver(["import", "o", files.child("v.fvecs"), "--data-dir", data.path])
        #expect(run.status != 0 && run.stderr.contains("in use by another process"), "\(run.stderr)")
        _ = try await server.stop()
        run = try await CLITests.quiver(["import", "o", files.child("v.fvecs"), "--data-dir", data.path, "--json"])
        let summary = try #require(try run.json() as? [String: Any], "\(run.stderr)")
        #expect(summary["imported"] as? Int == 1_000 && summary["indexed_seconds"] != nil)
        server = try await TestServer(dataDirectory: data)
        try await server.withClient { client async throws in
            let info = try await client.describeCollection("o")
            #expect(info.rows == 1_000 && info.segments.allSatisfy { $0.phase == .indexed } && info.segments.count == 4, "\(info.segments)")
        }
        _ = try await server.stop()
    }

    /// A new database, offline from end to end: `collection create --data-dir` makes the
    /// collection without a server, `import --data-dir` loads it, the `collection` verbs read it
    /// back offline, and a server started afterwards serves exactly that. While a server holds the
    /// directory the offline verbs are refused.
    @Test func offlineCollectionVerbsNeedNoServer() async throws {
        let data = TemporaryDirectory()
        let files = TemporaryDirectory()
        try CLITests.writeFvecs((0..<600).map { Self.vector($0) }, to: files.child("v.fvecs"))
        var run = try await CLITests.quiver(
            ["collection", "create", "o", "--dim", "4", "--metric", "l2", "--segment-rows", "256", "--data-dir", data.path])
        #expect(run.status == 0 && run.stdout.contains("created collection o"), "\(run.stderr)")
        run = try await CLITests.quiver(["import", "o", files.child("v.fvecs"), "--data-dir", data.path])
        #expect(run.status == 0, "\(run.stderr)")
        run = try await CLITests.quiver(["collection", "describe", "o", "--data-dir", data.path, "--json"])
        let described = try #require(try run.json() as? [String: Any], "\(run.stderr)")
        #expect(described["rows"] as? Int == 600 && described["dimension"] as? Int == 4)
        run = try await CLITests.quiver(["collection", "list", "--data-dir", data.path])
        #expect(run.status == 0 && run.lines.count == 2 && run.lines[1].hasPrefix("o "), "\(run.stdout)")

        let server = try await TestServer(dataDirectory: data)
        try await server.withClient { client async throws in
            let info = try await client.describeCollection("o")
            #expect(info.rows == 600 && info.segments.map(\.phase) == [.indexed, .indexed, .indexed], "\(info.segments)")
            let hits = try await client.search("o", queries: [Self.vector(5)], k: 1)
            #expect(hits[0].first?.id == 5)
        }
        run = try await CLITests.quiver(["collection", "drop", "o", "--data-dir", data.path])
        #expect(run.status != 0 && run.stderr.contains("in use by another process"), "\(run.stderr)")
        _ = try await server.stop()
        run = try await CLITests.quiver(["collection", "drop", "o", "--data-dir", data.path])
        #expect(run.status == 0 && run.stdout.contains("dropped collection o"), "\(run.stderr)")
        run = try await CLITests.quiver(["collection", "list", "--data-dir", data.path, "--json"])
        let listed = try run.json() as? [Any]
        #expect(run.status == 0 && listed?.isEmpty == true, "\(run.stdout)")
    }
}
