import Foundation
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import QuiverWire
import Synchronization
import Testing

/// Keys without secrets on disk (`quiver keys generate`, `sha256:` lines) and credentials read
/// again on SIGHUP without a restart: keys, and the TLS certificate.
@Suite struct KeyRotationTests {
    /// `quiver keys generate` through the binary: (key, line).
    static func generate(role: String, label: String) async throws -> (String, String) {
        let run = try await TLSTests.cli(["keys", "generate", "--role", role, "--label", label, "--json"])
        try #require(run.0 == 0, "\(run.2)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.1.utf8)) as? [String: String])
        return (try #require(object["key"]), try #require(object["line"]))
    }

    @Test func generatedKeysAreStoredAsTheirSHA256AndWork() async throws {
        let (key, line) = try await Self.generate(role: "admin", label: "ops")
        let (other, _) = try await Self.generate(role: "admin", label: "ops")
        #expect(key != other && key.count >= 32)
        // The line holds the key's SHA-256 as coreutils computes it, and not the key.
        let digest = try ChildProcess(path: "/usr/bin/env", arguments: ["sh", "-c", "printf %s \"$0\" | sha256sum", key])
        _ = try await digest.waitForExit()
        let hex = String(digest.stdout.prefix(64))
        #expect(line == "sha256:\(hex) admin ops", "\(line)")
        #expect(!line.contains(key))

        let dir = TemporaryDirectory()
        try (line + "\n").write(toFile: dir.child("keys.txt"), atomically: true, encoding: .utf8)
        let server = try await TestServer(arguments: ["--api-keys", dir.child("keys.txt")])
        try await server.withClient(apiKey: key) { client async throws in
            try await client.createCollection(CollectionSchema(name: "c", dimension: 2, metric: .l2))
            try await client.upsert("c", [Record(id: 1, vector: [1, 2])])
            #expect(try await client.count("c") == 1)
        }
        try await server.withClient(apiKey: other) { client async throws in
            let error = await thrownError { _ = try await client.count("c") }
            #expect(error?.code == .unauthenticated)
        }
        // A hashed line with a bad digest is refused with its line.
        try "sha256:abc read\n".write(toFile: dir.child("bad.txt"), atomically: true, encoding: .utf8)
        let bad = try await TLSTests.cli(["serve", "--data-dir", dir.child("d2"), "--listen", "127.0.0.1:0", "--api-keys", dir.child("bad.txt")])
        #expect(bad.0 != 0 && bad.2.contains("line 1: a hashed key is sha256: and 64 hex digits"), "\(bad.2)")
        try await server.stop()
    }

    /// During a steady stream of calls the keys file is replaced and SIGHUP sent: afterwards the
    /// old key is refused and the new one accepted; a call open across the reload (a
    /// SearchSession) goes on answering; no call fails but with UNAUTHENTICATED after the switch;
    /// a file that does not parse keeps the keys in use.
    @Test func sighupRotatesKeysWithoutDisturbingCallsInFlight() async throws {
        let (old, oldLine) = try await Self.generate(role: "admin", label: "old")
        let (new, newLine) = try await Self.generate(role: "admin", label: "new")
        let dir = TemporaryDirectory()
        let keys = dir.child("keys.txt")
        try (oldLine + "\n").write(toFile: keys, atomically: true, encoding: .utf8)
        let server = try await TestServer(arguments: ["--api-keys", keys])
        try await server.withClient(apiKey: old) { client async throws in
            try await client.createCollection(CollectionSchema(name: "c", dimension: 2, metric: .l2))
            try await client.upsert("c", (0..<100).map { Record(id: RecordID(UInt64($0)), vector: [Float($0), 1]) })
        }

        // The steady stream: counts with the old key until told to stop.
        let stop = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])
        let steady = Task {
            var refused = 0
            var answered = 0
            try await server.withClient(apiKey: old) { client async throws in
                while !stop.load(ordering: .relaxed) {
                    do {
                        _ = try await client.count("c")
                        answered += 1
                    } catch let error as QuiverError where error.code == .unauthenticated {
                        refused += 1
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
            return (answered, refused)
        }

        try await server.withClient(apiKey: old) { client async throws in
            try await client.withSearchSession { session in
                #expect(try await session.search("c", queries: [[5, 1]], k: 1).first?.first?.id == 5)

                // A keys file that does not parse: the old key keeps working.
                try "not a keys file\n".write(toFile: keys, atomically: true, encoding: .utf8)
                server.child.signal(SIGHUP)
                _ = try await server.child.waitForLine(in: .stderr, "the failed reload", where: { $0.contains("credentials not reloaded") })
                #expect(try await client.count("c") == 100)

                try (newLine + "\n").write(toFile: keys, atomically: true, encoding: .utf8)
                server.child.signal(SIGHUP)
                try await waitUntil("the old key to be refused", timeout: .seconds(30)) {
                    do {
                        _ = try await client.count("c")
                        return false
                    } catch {
                        return (error as? QuiverError)?.code == .unauthenticated
                    }
                }
                // The session opened with the old key before the reload still answers.
                #expect(try await session.search("c", queries: [[7, 1]], k: 1).first?.first?.id == 7)
            }
        }
        try await server.withClient(apiKey: new) { client async throws in #expect(try await client.count("c") == 100) }
        stop.store(true, ordering: .relaxed)
        let (answered, refused) = try await steady.value
        #expect(answered > 0 && refused > 0, "answered \(answered), refused \(refused)")
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        // Neither key was logged.
        try await server.stop()
        #expect(!server.child.stderr.contains(old) && !server.child.stderr.contains(new))
    }

    /// `quiver keys reload`: the admin call that does what SIGHUP does. Only an unscoped admin key
    /// may make it; a file that fails to load is reported to the caller and keeps the keys in use;
    /// each call is on the audit log.
    @Test func keysReloadCallSwapsTheKeysFileAndReportsAFailure() async throws {
        let (ops, opsLine) = try await Self.generate(role: "admin", label: "ops")
        let (reader, readerLine) = try await Self.generate(role: "read", label: "reader")
        let (tenant, tenantLine) = try await Self.generate(role: "admin", label: "tenant")
        let (fresh, freshLine) = try await Self.generate(role: "read", label: "fresh")
        let dir = TemporaryDirectory()
        let keys = dir.child("keys.txt")
        try "\(opsLine)\n\(readerLine)\n\(tenantLine) collections=t_*\n".write(toFile: keys, atomically: true, encoding: .utf8)
        let server = try await TestServer(arguments: ["--api-keys", keys, "--audit-log", dir.child("audit.jsonl")])
        func reload(_ key: String, json: Bool = false) async throws -> (Int32, String, String) {
            try await TLSTests.cli(["keys", "reload", "--server", server.address, "--api-key", key] + (json ? ["--json"] : []))
        }

        var run = try await reload(reader)
        #expect(run.0 == 1 && run.2.contains("has role read") && run.2.contains("permissionDenied"), "\(run.2)")
        run = try await reload(tenant)
        #expect(run.0 == 1 && run.2.contains("scoped to collections t_*"), "\(run.2)")

        try "\(opsLine)\n\(freshLine)\n".write(toFile: keys, atomically: true, encoding: .utf8)
        run = try await reload(ops, json: true)
        #expect(run.0 == 0, "\(run.2)")
        let outcome = try #require(try JSONSerialization.jsonObject(with: Data(run.1.utf8)) as? [String: Any], "\(run.1)")
        #expect(outcome["keys"] as? Int == 2 && outcome["tls"] as? Bool == false, "\(outcome)")
        #expect((outcome["reloaded"] as? String)?.contains(keys) == true, "\(outcome)")
        try await server.withClient(apiKey: fresh) { client async throws in #expect(try await client.listCollections().isEmpty) }
        try await server.withClient(apiKey: reader) { client async throws in
            #expect(await thrownError { _ = try await client.listCollections() }?.code == .unauthenticated)
        }

        // A file that does not parse: the caller is told which line, the keys in use stay.
        try "\(opsLine)\n\(freshLine) sideways\n".write(toFile: keys, atomically: true, encoding: .utf8)
        run = try await reload(ops)
        #expect(run.0 == 1 && run.2.contains("line 2") && run.2.contains("credentialsNotReloaded") && run.2.contains("failedPrecondition"), "\(run.2)")
        try await server.withClient(apiKey: fresh) { client async throws in #expect(try await client.listCollections().isEmpty) }
        try await server.stop()

        let lines = try String(contentsOfFile: dir.child("audit.jsonl"), encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["method"] as? String == "quiver.v1.AdminService/ReloadCredentials" }
        #expect(lines.map { $0["code"] as? String } == ["permissionDenied", "permissionDenied", "OK", "failedPrecondition"], "\(lines)")
        #expect(lines.map { $0["key"] as? String } == [nil, "tenant", "ops", "ops"], "\(lines)")
        for secret in [ops, reader, tenant, fresh] { #expect(!server.child.stderr.contains(secret)) }
    }

    /// A certificate renewed in place is served to new connections after SIGHUP.
    @Test func sighupServesARenewedCertificate() async throws {
        let certificates = try await TLSTests.Certificates()
        let served = certificates.path("served.pem")
        try FileManager.default.copyItem(atPath: certificates.path("expired.pem"), toPath: served)
        let server = try await TestServer(arguments: ["--tls-cert", served, "--tls-key", certificates.path("server.key")])
        let ca = certificates.path("ca.pem")
        var run = try await TLSTests.cli(["health", "--server", server.address, "--tls-ca", ca])
        #expect(run.0 == 1 && run.2.contains("it expired on"), "\(run.2)")

        try FileManager.default.removeItem(atPath: served)
        try FileManager.default.copyItem(atPath: certificates.path("server.pem"), toPath: served)
        server.child.signal(SIGHUP)
        _ = try await server.child.waitForLine(in: .stderr, "the reload", where: { $0.contains("credentials reloaded") })
        run = try await TLSTests.cli(["health", "--server", server.address, "--tls-ca", ca])
        #expect(run.0 == 0 && run.1.contains("serving"), "\(run.2)")
        try await server.stop()
    }
}
