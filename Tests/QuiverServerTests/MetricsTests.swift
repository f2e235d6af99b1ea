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

    /// One HTTPS (or HTTP) GET through Python's urllib and ssl, which nobody here wrote:
    /// status, body and WWW-Authenticate, or the client's error.
    static func pythonGet(_ url: String, ca: String? = nil, key: String? = nil, certificate: (String, String)? = nil) async throws -> [String: Any] {
        let script = """
            import json, ssl, sys, urllib.error, urllib.request
            url, ca, key, cert, cert_key = sys.argv[1:6]
            context = ssl.create_default_context(cafile=ca or None)
            if cert:
                context.load_cert_chain(cert, cert_key)
            request = urllib.request.Request(url, headers={"Authorization": "Bearer " + key} if key else {})
            try:
                with urllib.request.urlopen(request, context=context if url.startswith("https") else None, timeout=30) as response:
                    out = {"status": response.status, "body": response.read().decode()}
            except urllib.error.HTTPError as error:
                out = {"status": error.code, "body": error.read().decode(), "auth": error.headers.get("WWW-Authenticate")}
            except Exception as error:
                out = {"error": type(error).__name__ + ": " + str(error)}
            print(json.dumps(out))
            """
        let python = try ChildProcess(
            path: "/usr/bin/env",
            arguments: ["python3", "-c", script, url, ca ?? "", key ?? "", certificate?.0 ?? "", certificate?.1 ?? ""])
        let exit = try await python.waitForExit(timeout: .seconds(60))
        try #require(exit.status == 0 && !exit.signaled, "\(python.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(python.stdout.utf8)) as? [String: Any], "\(python.stdout)")
    }

    static func metricsAddress(_ server: TestServer) throws -> String {
        let line = try #require(server.child.stdout.split(separator: "\n").first { $0.hasPrefix("metrics ") })
        return String(line.dropFirst("metrics ".count))
    }

    /// With TLS on, the metrics are HTTPS with the gRPC port's certificate; with
    /// --metrics-key-role they need a key of that role (401 without, 403 for a smaller role or a
    /// scoped key), or a client certificate mapped to one. Refused scrapes are audited.
    @Test func metricsOverTLSNeedAKeyOfTheirRole() async throws {
        let certificates = try await TLSTests.Certificates()
        let dir = TemporaryDirectory()
        let (reader, readerLine) = try await KeyRotationTests.generate(role: "read", label: "prometheus")
        let (tenant, tenantLine) = try await KeyRotationTests.generate(role: "admin", label: "tenant")
        try "\(readerLine)\n\(tenantLine) collections=t_*\nsubject:search-svc write scraper\n".write(
            toFile: dir.child("keys.txt"), atomically: true, encoding: .utf8)
        // Needs the keys it would check.
        let refused = try await TLSTests.cli(["serve", "--data-dir", dir.child("d0"), "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--metrics-key-role", "read"])
        #expect(refused.0 != 0 && refused.2.contains("--metrics-key-role needs --api-keys"), "\(refused.2)")

        let server = try await TestServer(
            arguments: certificates.serving("server") + [
                "--api-keys", dir.child("keys.txt"), "--metrics", "127.0.0.1:0", "--metrics-key-role", "write",
                "--audit-log", dir.child("audit.jsonl"),
            ])
        let address = try Self.metricsAddress(server)
        let url = "https://\(address)/metrics"
        let ca = certificates.path("ca.pem")

        var reply = try await Self.pythonGet(url, ca: ca)
        #expect(reply["status"] as? Int == 401 && (reply["auth"] as? String)?.hasPrefix("Bearer") == true, "\(reply)")
        reply = try await Self.pythonGet(url, ca: ca, key: "not-a-key-of-this-server")
        #expect(reply["status"] as? Int == 401, "\(reply)")
        reply = try await Self.pythonGet(url, ca: ca, key: reader)
        #expect(reply["status"] as? Int == 403 && (reply["body"] as? String)?.contains("needs write") == true, "\(reply)")
        reply = try await Self.pythonGet(url, ca: ca, key: tenant)
        #expect(reply["status"] as? Int == 403 && (reply["body"] as? String)?.contains("scoped to collections") == true, "\(reply)")
        // A key of the role through a client nobody here wrote, and the text parses.
        try await server.withClient(apiKey: tenant, tls: QuiverClient.TLS(caFile: ca)) { client async throws in
            try await client.createCollection(CollectionSchema(name: "t_docs", dimension: 2, metric: .l2))
        }
        try "\(readerLine.replacingOccurrences(of: " read ", with: " write "))\n".write(toFile: dir.child("keys.txt"), atomically: true, encoding: .utf8)
        server.child.signal(SIGHUP)
        try await waitUntil("the reloaded keys let the reader scrape", timeout: .seconds(30), interval: .milliseconds(50)) {
            try await Self.pythonGet(url, ca: ca, key: reader)["status"] as? Int == 200
        }
        reply = try await Self.pythonGet(url, ca: ca, key: reader)
        let samples = try Self.parse(try #require(reply["body"] as? String))
        #expect(samples[#"quiver_collection_rows{collection="t_docs"}"#] == 0, "\(samples.keys.sorted().prefix(20))")
        // Plaintext to the HTTPS endpoint is told so; a CA the client does not trust fails the handshake.
        reply = try await Self.pythonGet("http://\(address)/metrics", key: reader)
        #expect(reply["status"] as? Int == 400 && (reply["body"] as? String)?.contains("requires HTTPS") == true, "\(reply)")
        reply = try await Self.pythonGet(url, ca: certificates.path("other-ca.pem"), key: reader)
        #expect((reply["error"] as? String)?.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(reply)")
        try await server.stop()

        let audit = try String(contentsOfFile: dir.child("audit.jsonl"), encoding: .utf8)
        let scrapes = audit.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["method"] as? String == "GET /metrics" }
        // The first four refusals, then the reader's until the reload took effect.
        let codes = scrapes.map { $0["code"] as? String ?? "" }
        #expect(Array(codes.prefix(4)) == ["unauthenticated", "unauthenticated", "permissionDenied", "permissionDenied"], "\(audit)")
        #expect(codes.dropFirst(4).allSatisfy { $0 == "permissionDenied" }, "\(audit)")
        #expect(scrapes.allSatisfy { ($0["peer"] as? String)?.hasPrefix("ipv4:127.0.0.1:") == true }, "\(audit)")
        for secret in [reader, tenant] { #expect(!audit.contains(secret) && !server.child.stderr.contains(secret)) }

        // With mTLS, a client certificate mapped by subject: stands for a key; without one the
        // handshake is refused.
        try "subject:search-svc write scraper\n".write(toFile: dir.child("keys.txt"), atomically: true, encoding: .utf8)
        let mutual = try await TestServer(
            arguments: certificates.serving("server") + [
                "--tls-client-ca", ca, "--api-keys", dir.child("keys.txt"), "--metrics", "127.0.0.1:0", "--metrics-key-role", "write",
            ])
        let mutualURL = "https://\(try Self.metricsAddress(mutual))/metrics"
        reply = try await Self.pythonGet(mutualURL, ca: ca, certificate: (certificates.path("client.pem"), certificates.path("client.key")))
        #expect(reply["status"] as? Int == 200, "\(reply)")
        reply = try await Self.pythonGet(mutualURL, ca: ca)
        #expect(reply["error"] != nil, "\(reply)")
        try await mutual.stop()
    }
}
