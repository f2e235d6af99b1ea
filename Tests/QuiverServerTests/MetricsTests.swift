import Foundation
import GRPCCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import QuiverClient
import QuiverCore
import QuiverProto
import QuiverServerTesting
import QuiverTesting
import Testing

/// `quiver serve --metrics`: the endpoint is scraped over HTTP, the text is parsed as Prometheus's
/// exposition format, and the counters move with the calls the test makes.
@Suite struct MetricsTests {
    /// Samples by series (`name{labels}` as printed), after checking every line's syntax.
    static func parse(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        var typed = Set<String>()
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                try #require(parts.count == 4 && ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]), "\(line)")
                typed.insert(String(parts[2]))
                continue
            }
            if line.hasPrefix("#") { continue }
            let match = try #require(
                line.wholeMatch(of: /([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (\S+)/),
                "not Prometheus text: \(line)")
            let name = String(match.1)
            let family = name.replacing(/_(bucket|sum|count)$/, with: "")
            #expect(typed.contains(name) || typed.contains(family), "no TYPE line before \(name)")
            guard let value = Double(String(match.4)) else {
                Issue.record("not a number: \(line)")
                continue
            }
            samples[name + (match.2.map(String.init) ?? "")] = value
        }
        return samples
    }

    static func scrape(_ address: String) async throws -> [String: Double] {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://\(address)/metrics")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/plain") == true)
        return try parse(String(decoding: data, as: UTF8.self))
    }

    @Test func scrapedCountersMoveWithTheCalls() async throws {
        let server = try await TestServer(arguments: ["--metrics", "127.0.0.1:0"])
        let line = try #require(server.child.stdout.split(separator: "\n").first { $0.hasPrefix("metrics ") })
        let address = String(line.dropFirst("metrics ".count))
        var rng = SeededRandom(seed: 3)
        try await server.withClient { client async throws in
            _ = try await client.createCollection(
                CollectionSchema(
                    name: "c", dimension: 4, metric: .l2, fields: [FieldSchema(name: "n", type: .int64)],
                    index: IndexSettings(nlist: 4, segmentRows: 256)))
            let records = (0..<768).map { i in
                Record(id: RecordID(UInt64(i)), vector: (0..<4).map { _ in Float.random(in: -1...1, using: &rng) }, fields: ["n": .int64(Int64(i))])
            }
            for start in stride(from: 0, to: 768, by: 256) { _ = try await client.upsert("c", Array(records[start..<(start + 256)])) }
            try await waitUntil("every segment of c to be indexed", interval: .milliseconds(20)) {
                let info = try await client.describeCollection("c")
                return !info.pending && info.segments.allSatisfy { $0.phase == .indexed }
            }
            for filter in ["n < 10", "n >= 100", nil] {
                _ = try await client.search("c", queries: [[0, 0, 0, 0]], k: 5, options: SearchOptions(filter: filter))
            }
            await #expect(throws: QuiverError.self) { try await client.search("c", queries: [[0, 0, 0]], k: 5) }
        }
        var samples = try await Self.scrape(address)
        #expect(samples["quiver_rows_ingested_total"] == 768)
        #expect(samples[#"quiver_rpc_calls_total{method="Search",code="ok"}"#] == 3)
        #expect(samples[#"quiver_rpc_calls_total{method="Search",code="invalidArgument"}"#] == 1)
        #expect(samples[#"quiver_rpc_calls_total{method="Upsert",code="ok"}"#] == 3)
        #expect(samples[#"quiver_rpc_duration_seconds_count{method="Search"}"#] == 4)
        #expect(samples[#"quiver_searches_total{filtered="true"}"#] == 2)
        #expect(samples[#"quiver_searches_total{filtered="false"}"#] == 1)
        #expect(samples[#"quiver_segments{collection="c",state="indexed"}"#] == 3)
        #expect(samples[#"quiver_collection_rows{collection="c"}"#] == 768)
        #expect(samples["quiver_index_build_duration_seconds_count"] == 3)
        #expect((samples["quiver_wal_sync_duration_seconds_count"] ?? 0) >= 3)
        #expect((samples["process_resident_memory_bytes"] ?? 0) > 1_000_000)
        let scans = SearchPlan.Strategy.allCases.map { samples[#"quiver_segment_scans_total{strategy="\#($0.rawValue)"}"#] ?? 0 }
        #expect(scans.reduce(0, +) == 9, "three searches over three segments: \(scans)")
        // Histogram buckets are cumulative and end at the count.
        let buckets = samples.filter { $0.key.hasPrefix(#"quiver_rpc_duration_seconds_bucket{method="Search""#) }
        #expect(buckets.values.max() == 4 && buckets.keys.contains { $0.contains(#"le="+Inf""#) })

        // The counters move. Health calls are counted too (the test server's readiness checks
        // came before the first scrape, so only the difference is known).
        let healthBefore = samples[#"quiver_rpc_calls_total{method="Health",code="ok"}"#] ?? 0
        try await server.withClient { client async throws in
            for _ in 0..<3 { #expect(try await client.health()) }
            _ = try await client.upsert("c", [Record(id: 1_000, vector: [1, 2, 3, 4], fields: ["n": .int64(1)])])
            _ = try await client.delete("c", filter: "n == 1")
            // Each request on a SearchStream is counted and timed as a call.
            try await client.withSearchSession { session async throws in
                for _ in 0..<4 { _ = try await session.search("c", queries: [[0, 0, 0, 0]], k: 5) }
                await #expect(throws: QuiverError.self) { try await session.search("c", queries: [[0, 0, 0]], k: 5) }
            }
        }
        samples = try await Self.scrape(address)
        #expect(samples["quiver_rows_ingested_total"] == 769)
        #expect(samples[#"quiver_rpc_calls_total{method="Delete",code="ok"}"#] == 1)
        #expect(samples[#"quiver_rpc_calls_total{method="Health",code="ok"}"#] == healthBefore + 3)
        #expect(samples[#"quiver_collection_rows{collection="c"}"#] == 767)
        #expect(samples[#"quiver_rpc_calls_total{method="SearchStream",code="ok"}"#] == 4)
        #expect(samples[#"quiver_rpc_calls_total{method="SearchStream",code="invalidArgument"}"#] == 1)
        #expect(samples[#"quiver_rpc_duration_seconds_count{method="SearchStream"}"#] == 5)
        #expect(samples[#"quiver_searches_total{filtered="false"}"#] == 5)
        let (_, missing) = try await URLSession.shared.data(from: URL(string: "http://\(address)/other")!)
        #expect((missing as? HTTPURLResponse)?.statusCode == 404)
        try await server.stop()
    }

    /// Calls refused before they reach a service (by the auth interceptor, or while their request
    /// is decoded) are counted all the same.
    @Test func refusedCallsAreCounted() async throws {
        let keysDir = TemporaryDirectory()
        let server = try await TestServer(arguments: [
            "--metrics", "127.0.0.1:0", "--api-keys", try AuthTests.keysFile(in: keysDir), "--max-message-bytes", String(1 << 20),
        ])
        let line = try #require(server.child.stdout.split(separator: "\n").first { $0.hasPrefix("metrics ") })
        let address = String(line.dropFirst("metrics ".count))
        _ = try await server.withClient { client async throws in
            await #expect(throws: QuiverError.self) { try await client.listCollections() }
        }
        _ = try await server.withClient(apiKey: AuthTests.wrongKey) { client async throws in
            await #expect(throws: QuiverError.self) { try await client.listCollections() }
        }
        try await server.withClient(apiKey: AuthTests.readKey) { client async throws in
            await #expect(throws: QuiverError.self) { try await client.createCollection(CollectionSchema(name: "c", dimension: 2, metric: .l2)) }
            _ = try await client.listCollections()
        }
        _ = try await server.withClient(apiKey: AuthTests.adminKey) { client async throws in
            _ = try await client.createCollection(CollectionSchema(name: "v", dimension: 4, metric: .l2))
            // About 1.7 MB on the wire, over the 1 MiB limit.
            let oversized = (0..<60_000).map { Record(id: RecordID(UInt64($0)), vector: [1, 2, 3, 4]) }
            await #expect(throws: QuiverError.self) { try await client.upsert("v", oversized) }
        }
        try await BadInputTests.withRawClient(server) { grpc in
            let request = ClientRequest(message: [UInt8](repeating: 0xFF, count: 64), metadata: ["authorization": "Bearer \(AuthTests.adminKey)"])
            await #expect(throws: RPCError.self) {
                try await grpc.unary(
                    request: request, descriptor: Quiver_V1_DataService.Method.Upsert.descriptor,
                    serializer: RawBytes(), deserializer: RawBytes(), options: .defaults
                ) { try $0.message }
            }
        }
        let samples = try await Self.scrape(address)
        #expect(samples[#"quiver_rpc_calls_total{method="Upsert",code="resourceExhausted"}"#] == 1)
        #expect(samples[#"quiver_rpc_calls_total{method="Upsert",code="invalidArgument"}"#] == 1)
        #expect(samples[#"quiver_rpc_calls_total{method="ListCollections",code="unauthenticated"}"#] == 2)
        #expect(samples[#"quiver_rpc_calls_total{method="CreateCollection",code="permissionDenied"}"#] == 1)
        #expect(samples[#"quiver_rpc_calls_total{method="ListCollections",code="ok"}"#] == 1)
        #expect(samples[#"quiver_rpc_duration_seconds_count{method="ListCollections"}"#] == 3)
        try await server.stop()
    }
}
