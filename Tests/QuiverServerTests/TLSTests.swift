import Foundation
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import QuiverWire
import Testing

/// TLS and mTLS on the gRPC port, with certificates made at test time by the `openssl` command
/// (nothing secret is committed), against three clients: `QuiverClient`, the CLI binary and
/// Python's grpcio (`grpc.ssl_channel_credentials`), which nobody here wrote.
@Suite struct TLSTests {
    /// A CA, certificates it signed (the server's for 127.0.0.1 and localhost, an expired one, one
    /// for another host, a client's), and a CA nobody trusts.
    struct Certificates {
        let directory = TemporaryDirectory()
        func path(_ name: String) -> String { directory.child(name) }

        init() async throws {
            try await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                               "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=Quiver Test CA"])
            try await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                               "-keyout", path("other-ca.key"), "-out", path("other-ca.pem"), "-days", "2", "-subj", "/CN=Other CA"])
            try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
            try "subjectAltName=DNS:elsewhere.example\n".write(toFile: path("elsewhere.ext"), atomically: true, encoding: .utf8)
            try await request("server", subject: "/CN=localhost")
            try await request("client", subject: "/CN=search-svc")
            try await request("intruder", subject: "/CN=intruder")
            try await sign("server", as: "server", days: 2, extensions: "server.ext")
            // `-days -1`: valid until a day before it was made.
            try await sign("server", as: "expired", days: -1, extensions: "server.ext")
            try await sign("server", as: "elsewhere", days: 2, extensions: "elsewhere.ext")
            try await sign("client", as: "client", days: 2, extensions: nil)
            try await sign("intruder", as: "intruder", days: 2, extensions: nil)
        }

        private func request(_ name: String, subject: String) async throws {
            try await openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                               "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject])
        }

        private func sign(_ request: String, as name: String, days: Int, extensions: String?) async throws {
            try await openssl(
                ["x509", "-req", "-in", path("\(request).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial",
                 "-out", path("\(name).pem"), "-days", String(days)] + (extensions.map { ["-extfile", path($0)] } ?? []))
        }

        private func openssl(_ arguments: [String]) async throws {
            let child = try ChildProcess(path: "/usr/bin/env", arguments: ["openssl"] + arguments)
            let exit = try await child.waitForExit()
            try #require(exit.status == 0 && !exit.signaled, "openssl \(arguments.first ?? ""): \(child.stderr)")
        }

        /// `quiver serve` arguments for the certificate `name` (signed with server.key).
        func serving(_ name: String) -> [String] { ["--tls-cert", path("\(name).pem"), "--tls-key", path("server.key")] }
    }

    /// The CLI binary against `server`: (exit status, stderr).
    static func cli(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String, String) {
        var env = ProcessInfo.processInfo.environment
        for name in ["QUIVER_SERVER", "QUIVER_API_KEY", "QUIVER_TLS_CA", "QUIVER_TLS_CERT", "QUIVER_TLS_KEY"] { env[name] = nil }
        env.merge(environment) { $1 }
        let child = try ChildProcess("quiver", arguments: arguments, environment: env)
        let exit = try await child.waitForExit()
        return (exit.signaled ? -1 : exit.status, child.stdout, child.stderr)
    }

    @Test func callsOverTLSFromThreeClientsAndClearRefusals() async throws {
        let certificates = try await Certificates()
        let server = try await TestServer(arguments: certificates.serving("server"))
        let trusted = QuiverClient.TLS(caFile: certificates.path("ca.pem"))

        // QuiverClient: by address (the certificate's IP SAN) and by name.
        try await server.withClient(tls: trusted) { client async throws in
            #expect(try await client.health())
            try await client.createCollection(CollectionSchema(name: "docs", dimension: 2, metric: .l2))
            try await client.upsert("docs", [Record(id: 1, vector: [1, 2])])
            #expect(try await client.search("docs", queries: [[1, 2]], k: 1).first?.map(\.id) == [1])
        }
        let byName = QuiverClient.Options(server: ServerAddress(host: "localhost", port: server.port), tls: trusted)
        #expect(try await QuiverClient.withClient(byName) { try await $0.count("docs") } == 1)

        // The CLI, with the flag and with the variable.
        var run = try await Self.cli(["collection", "list", "--server", server.address, "--tls-ca", certificates.path("ca.pem")])
        #expect(run.0 == 0 && run.1.contains("docs"), "\(run.2)")
        run = try await Self.cli(["health", "--server", server.address], environment: ["QUIVER_TLS_CA": certificates.path("ca.pem")])
        #expect(run.0 == 0 && run.1.contains("serving"), "\(run.2)")

        // Python's grpcio over TLS.
        let python = try await HostileClientTests.probe(server, ["tls-calls", "--ca", certificates.path("ca.pem")])
        #expect(python["health"] as? String == "SERVING", "\(python)")
        #expect((python["collections"] as? [String])?.contains("docs") == true, "\(python)")

        // Plaintext clients of a TLS server are told so, not just disconnected.
        run = try await Self.cli(["health", "--server", server.address])
        #expect(run.0 == 1 && run.2.contains("this server requires TLS"), "\(run.2)")
        let plaintext = try await HostileClientTests.probe(server, ["tls-calls"])
        #expect((plaintext["error"] as? String)?.hasPrefix("UNAVAILABLE: this server requires TLS") == true, "\(plaintext)")

        // A CA the client does not trust.
        run = try await Self.cli(["health", "--server", server.address, "--tls-ca", certificates.path("other-ca.pem")])
        #expect(run.0 == 1 && run.2.contains("it is not signed by the CA in"), "\(run.2)")
        let untrusted = try await HostileClientTests.probe(server, ["tls-calls", "--ca", certificates.path("other-ca.pem")])
        #expect((untrusted["error"] as? String)?.hasPrefix("UNAVAILABLE") == true, "\(untrusted)")
        try await server.stop()

        // An expired certificate and one for another host.
        let expired = try await TestServer(arguments: certificates.serving("expired"))
        run = try await Self.cli(["health", "--server", expired.address, "--tls-ca", certificates.path("ca.pem")])
        #expect(run.0 == 1 && run.2.contains("it expired on"), "\(run.2)")
        try await expired.stop()
        let elsewhere = try await TestServer(arguments: certificates.serving("elsewhere"))
        run = try await Self.cli(["health", "--server", elsewhere.address, "--tls-ca", certificates.path("ca.pem")])
        #expect(run.0 == 1 && run.2.contains("is not for 127.0.0.1"), "\(run.2)")
        try await elsewhere.stop()

        // A TLS client of a plaintext server.
        let plain = try await TestServer()
        run = try await Self.cli(["health", "--server", plain.address, "--tls-ca", certificates.path("ca.pem")])
        #expect(run.0 == 1 && run.2.contains("does not speak TLS"), "\(run.2)")
        try await plain.stop()
    }

    @Test func mutualTLSRefusesClientsWithoutACertificateFromItsCA() async throws {
        let certificates = try await Certificates()
        let server = try await TestServer(arguments: certificates.serving("server") + ["--tls-client-ca", certificates.path("ca.pem")])
        let ca = certificates.path("ca.pem")

        try await server.withClient(tls: .init(caFile: ca, certificateFile: certificates.path("client.pem"), keyFile: certificates.path("client.key"))) {
            client async throws in
            #expect(try await client.health())
        }
        var run = try await Self.cli(
            ["health", "--server", server.address, "--tls-ca", ca],
            environment: ["QUIVER_TLS_CERT": certificates.path("client.pem"), "QUIVER_TLS_KEY": certificates.path("client.key")])
        #expect(run.0 == 0, "\(run.2)")
        let python = try await HostileClientTests.probe(
            server, ["tls-calls", "--ca", ca, "--cert", certificates.path("client.pem"), "--key", certificates.path("client.key")])
        #expect(python["health"] as? String == "SERVING", "\(python)")

        // No certificate, and one from a CA the server does not trust: refused at the handshake.
        run = try await Self.cli(["health", "--server", server.address, "--tls-ca", ca])
        #expect(run.0 == 1 && run.2.contains("requires a client certificate"), "\(run.2)")
        run = try await Self.cli(
            ["health", "--server", server.address, "--tls-ca", ca, "--tls-cert", certificates.path("other-ca.pem"),
             "--tls-key", certificates.path("other-ca.key")])
        #expect(run.0 == 1 && run.2.contains("refused this client's certificate"), "\(run.2)")
        let anonymous = try await HostileClientTests.probe(server, ["tls-calls", "--ca", ca])
        #expect((anonymous["error"] as? String)?.hasPrefix("UNAVAILABLE") == true, "\(anonymous)")
        try await server.stop()
    }

    /// With keys, a `subject:NAME` line makes a client certificate whose common name is NAME stand
    /// for a key: a certificate mapped to `read` reads and cannot write; one the file does not
    /// list needs a key; a key still works over the same mTLS connection.
    @Test func aCertificateSubjectStandsForAKeyWithItsRole() async throws {
        let certificates = try await Certificates()
        let keys = certificates.path("keys.txt")
        try """
            subject:search-svc read search-svc
            \(AuthTests.adminKey) admin ops
            """.write(toFile: keys, atomically: true, encoding: .utf8)
        let server = try await TestServer(
            arguments: certificates.serving("server") + ["--tls-client-ca", certificates.path("ca.pem"), "--api-keys", keys])
        let ca = certificates.path("ca.pem")
        func tls(_ name: String) -> QuiverClient.TLS {
            .init(caFile: ca, certificateFile: certificates.path("\(name).pem"), keyFile: certificates.path("\(name).key"))
        }
        try await server.withClient(apiKey: AuthTests.adminKey, tls: tls("intruder")) { client async throws in
            try await client.createCollection(CollectionSchema(name: "c", dimension: 2, metric: .l2))
            try await client.upsert("c", [Record(id: 1, vector: [1, 2])])
        }
        try await server.withClient(tls: tls("client")) { client async throws in
            #expect(try await client.count("c") == 1)
            #expect(try await client.search("c", queries: [[1, 2]], k: 1).first?.first?.id == 1)
            let write = await thrownError { _ = try await client.upsert("c", [Record(id: 2, vector: [2, 2])]) }
            #expect(write?.code == .permissionDenied && write?.message.contains("search-svc") == true, "\(String(describing: write))")
        }
        try await server.withClient(tls: tls("intruder")) { client async throws in
            let read = await thrownError { _ = try await client.count("c") }
            #expect(read?.code == .unauthenticated, "\(String(describing: read))")
        }
        // grpcio with the mapped certificate: it reads, and its CreateCollection is refused.
        let python = try await HostileClientTests.probe(
            server, ["tls-calls", "--ca", ca, "--cert", certificates.path("client.pem"), "--key", certificates.path("client.key")])
        #expect((python["error"] as? String)?.hasPrefix("PERMISSION_DENIED") == true, "\(python)")
        try await server.stop()
    }

    /// Beyond loopback, plaintext and no authentication are refused before anything binds.
    @Test func nonLoopbackNeedsTLSAndAuthenticationUnlessWaived() async throws {
        let data = TemporaryDirectory()
        var run = try await Self.cli(["serve", "--data-dir", data.child("d"), "--listen", "0.0.0.0:0"])
        #expect(run.0 != 0 && run.2.contains("refusing to listen on 0.0.0.0:0 without TLS"), "\(run.2)")
        run = try await Self.cli(["serve", "--data-dir", data.child("d"), "--listen", "0.0.0.0:0", "--insecure-plaintext"])
        #expect(run.0 != 0 && run.2.contains("without authentication"), "\(run.2)")
        run = try await Self.cli(["serve", "--data-dir", data.child("d"), "--listen", "10.0.0.5:0", "--tls-cert", "c.pem"])
        #expect(run.0 != 0 && run.2.contains("--tls-cert and --tls-key go together"), "\(run.2)")
        // Nothing was opened either.
        #expect(!FileManager.default.fileExists(atPath: data.child("d")))
    }
}
