import Foundation
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import QuiverWire
import Testing

/// `quiver serve --audit-log FILE`: a JSON line per write, admin and refused call, written before
/// the reply, naming the key by its label and never the key; reopened on SIGHUP.
@Suite struct AuditLogTests {
    static func lines(_ path: String) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
    }

    @Test func writeAdminAndRefusedCallsAreOnRecord() async throws {
        let dir = TemporaryDirectory()
        let audit = dir.child("audit.jsonl")
        let keys = try AuthTests.keysFile(in: dir)
        let server = try await TestServer(arguments: ["--api-keys", keys, "--audit-log", audit])

        // Admin: on record by the time the reply arrives.
        try await server.withClient(apiKey: AuthTests.adminKey) { client async throws in
            _ = try await client.createCollection(CollectionSchema(name: "c", dimension: 2, metric: .l2))
            let created = try Self.lines(audit)
            #expect(created.count == 1, "\(created)")
            #expect(created.first?["method"] as? String == "quiver.v1.CollectionService/CreateCollection")
            #expect(created.first?["collection"] as? String == "c" && created.first?["key"] as? String == "ops")
            #expect(created.first?["code"] as? String == "OK" && (created.first?["peer"] as? String)?.hasPrefix("ipv4:127.0.0.1:") == true)
            #expect((created.first?["time"] as? String)?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(created)")
        }
        // Writes, with their record counts; reads are not on record.
        try await server.withClient(apiKey: AuthTests.writeKey) { client async throws in
            try await client.upsert("c", (0..<5).map { Record(id: RecordID(UInt64($0)), vector: [Float($0), 0]) })
            _ = try await client.upsertStream("c", batches: [[Record(id: 10, vector: [1, 1])], [Record(id: 11, vector: [2, 2])]].async)
            #expect(try await client.delete("c", ids: [0, 1]) == 2)
            _ = try await client.count("c")
            _ = try await client.search("c", queries: [[1, 0]], k: 1)
        }
        // Refused: an unknown key, a key without the role.
        try await server.withClient(apiKey: AuthTests.wrongKey) { client async throws in _ = await thrownError { _ = try await client.count("c") } }
        try await server.withClient(apiKey: AuthTests.readKey) { client async throws in
            _ = await thrownError { _ = try await client.upsert("c", [Record(id: 20, vector: [0, 0])]) }
        }

        let entries = try Self.lines(audit)
        let summary = entries.map { entry in
            [entry["method"] as? String ?? "", entry["key"] as? String ?? "-", entry["code"] as? String ?? "", "\(entry["records"] ?? "-")"]
                .joined(separator: " ")
        }
        #expect(
            summary == [
                "quiver.v1.CollectionService/CreateCollection ops OK -",
                "quiver.v1.DataService/Upsert ingest OK 5",
                "quiver.v1.DataService/UpsertStream ingest OK 2",
                "quiver.v1.DataService/Delete ingest OK 2",
                "quiver.v1.DataService/Count - unauthenticated -",
                "quiver.v1.DataService/Upsert - permissionDenied -",
            ], "\(summary)")

        // logrotate: rename, SIGHUP, and the next line goes to a new file.
        try FileManager.default.moveItem(atPath: audit, toPath: dir.child("audit.jsonl.1"))
        server.child.signal(SIGHUP)
        _ = try await server.child.waitForLine(in: .stderr, "the reload", where: { $0.contains("credentials reloaded") })
        try await server.withClient(apiKey: AuthTests.adminKey) { client async throws in try await client.dropCollection("c") }
        #expect(try Self.lines(audit).map { $0["method"] as? String } == ["quiver.v1.CollectionService/DropCollection"])
        #expect(try Self.lines(dir.child("audit.jsonl.1")).count == 6)
        try await server.stop()

        // No key anywhere: not in the audit files, not in the server's log.
        let everything = [server.child.stderr, server.child.stdout] + (try [audit, dir.child("audit.jsonl.1")].map { try String(contentsOfFile: $0, encoding: .utf8) })
        for key in [AuthTests.adminKey, AuthTests.writeKey, AuthTests.readKey, AuthTests.wrongKey] {
            #expect(!everything.contains { $0.contains(key) }, "\(key) was written")
        }
    }
}
