// `quiver-bench server --tls`: what TLS costs a call. Two servers run in this process, one
// plaintext and one TLS (a P-256 certificate made here with swift-certificates, TLS 1.3 as
// BoringSSL negotiates it), each over its own fresh database holding the same records. Every
// figure alternates the two query by query or round by round, so that both see the same noisy
// machine, and compares medians measured in the same run.
import Crypto
import Foundation
import QuiverClient
import QuiverCore
import QuiverEngine
import QuiverServer
import QuiverTesting
import QuiverWire
import SwiftASN1
import Synchronization
import X509

enum BenchServerTLS {
    struct Settings {
        var count: Int
        var dimension: Int
        var batchSize: Int
        var writers: Int
        var queries: Int
        var rounds: Int
        var seed: UInt64
        var workDirectory: String
    }

    static func run(_ settings: Settings) async throws {
        let logger = BenchCommon.quietLogger
        let certificate = try selfSignedCertificate(in: settings.workDirectory)
        /// A server on a loopback port over a fresh database, and the options to reach it.
        func start(_ name: String, tls: TLSFiles?) async throws -> (QuiverServer, Task<Void, any Error>, QuiverClient.Options) {
            let database = try await Database.open(
                path: settings.workDirectory + "/" + name, options: DatabaseOptions(syncPolicy: .always, logger: logger))
            var options = ServerOptions(listen: ServerAddress(host: "127.0.0.1", port: 0), logger: logger)
            options.tls = tls
            let server = try QuiverServer.serving(database, options: options)
            let bound = Mutex<ServerAddress?>(nil)
            let serving = Task { try await server.run { address in bound.withLock { $0 = address } } }
            var address: ServerAddress?
            while address == nil {
                try await Task.sleep(for: .milliseconds(5))
                address = bound.withLock { $0 }
            }
            return (server, serving, QuiverClient.Options(server: address!, tls: tls == nil ? nil : QuiverClient.TLS(caFile: certificate.chain)))
        }
        let plain = try await start("plain", tls: nil)
        let secure = try await start("tls", tls: TLSFiles(certificateChain: certificate.chain, privateKey: certificate.key))
        let paths = [("plaintext", plain.2), ("TLS", secure.2)]

        let dimension = settings.dimension
        let dataset = ClusteredDataset(dimension: dimension, clusters: 100, seed: settings.seed)
        let vectors = dataset.points(count: settings.count, stream: 0)
        let batches = BenchEngine.batches(vectors, dimension: dimension, batchSize: settings.batchSize, firstID: 0)
        print("quiver-bench server --tls — \(BenchEngine.machine()), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("two servers in this process over loopback TCP, one plaintext, one TLS (ECDSA P-256 certificate); sync=always")
        print("dataset: clustered, \(settings.count) × \(dimension), seed \(settings.seed); each figure alternates the two servers")
        print("")

        // Upserts: each round loads every batch into a new collection on each server, in
        // alternating order, by one client calling Upsert in turn, by several at once and by one
        // UpsertStream.
        enum Mode: CaseIterable {
            case inTurn, concurrent, stream
        }
        var rates: [Mode: [String: [Double]]] = [:]
        let writers = settings.writers
        for round in 0..<settings.rounds {
            for mode in Mode.allCases {
                for (label, options) in round % 2 == 0 ? paths : paths.reversed() {
                    let collection = "upsert\(round)_\(mode)"
                    let seconds = try await QuiverClient.withClient(options) { client in
                        _ = try await client.createCollection(CollectionSchema(name: collection, dimension: dimension, metric: .l2))
                        let started = ContinuousClock.now
                        switch mode {
                        case .inTurn:
                            for batch in batches { _ = try await client.upsert(collection, batch) }
                        case .concurrent:
                            try await withThrowingTaskGroup(of: Void.self) { group in
                                for w in 0..<writers {
                                    group.addTask {
                                        try await QuiverClient.withClient(options) { own in
                                            for b in stride(from: w, to: batches.count, by: writers) { _ = try await own.upsert(collection, batches[b]) }
                                        }
                                    }
                                }
                                try await group.waitForAll()
                            }
                        case .stream:
                            _ = try await client.upsertStream(collection, batches: batches.asyncStream)
                        }
                        let seconds = (ContinuousClock.now - started).seconds
                        try await client.dropCollection(collection)
                        return seconds
                    }
                    rates[mode, default: [:]][label, default: []].append(Double(settings.count) / seconds)
                }
            }
        }

        // Searches: the same records on both servers (the first batches for the small
        // collection), one query at a time, rotating the server and the way of calling.
        for (_, options) in paths {
            try await QuiverClient.withClient(options) { client in
                for (name, rows) in [("full", batches), ("tiny", [Array(batches.joined().prefix(100))])] {
                    _ = try await client.createCollection(CollectionSchema(name: name, dimension: dimension, metric: .l2))
                    _ = try await client.upsertStream(name, batches: rows.asyncStream)
                }
            }
        }
        let queryVectors = dataset.points(count: settings.queries, stream: 1)
        let single = stride(from: 0, to: queryVectors.count, by: dimension).map { [Array(queryVectors[$0..<($0 + dimension)])] }
        // [collection][label][viaSession]: latencies in seconds.
        var latencies: [String: [String: [Bool: [Double]]]] = [:]
        var health: [String: [Double]] = [:]
        try await QuiverClient.withClient(plain.2) { plainClient in
            try await QuiverClient.withClient(secure.2) { secureClient in
                let clients = [("plaintext", plainClient), ("TLS", secureClient)]
                try await plainClient.withSearchSession { plainSession in
                    try await secureClient.withSearchSession { secureSession in
                        let sessions = ["plaintext": plainSession, "TLS": secureSession]
                        for collection in ["full", "tiny"] {
                            let expected = try await plainClient.search(collection, queries: single[0], k: 10)
                            let overTLS = try await secureClient.search(collection, queries: single[0], k: 10)
                            precondition(overTLS == expected, "the TLS and plaintext servers disagree on \(collection)")
                        }
                        for round in 0..<settings.rounds {
                            for (i, query) in single.enumerated() {
                                let order = (round + i) % 2 == 0 ? clients : clients.reversed()
                                for collection in ["full", "tiny"] {
                                    for viaSession in (round + i / 2) % 2 == 0 ? [false, true] : [true, false] {
                                        for (label, client) in order {
                                            let started = ContinuousClock.now
                                            if viaSession {
                                                _ = try await sessions[label]!.search(collection, queries: query, k: 10)
                                            } else {
                                                _ = try await client.search(collection, queries: query, k: 10)
                                            }
                                            latencies[collection, default: [:]][label, default: [:]][viaSession, default: []].append(
                                                (ContinuousClock.now - started).seconds)
                                        }
                                    }
                                }
                                for (label, client) in order {
                                    let started = ContinuousClock.now
                                    _ = try await client.health()
                                    health[label, default: []].append((ContinuousClock.now - started).seconds)
                                }
                            }
                        }
                    }
                }
            }
        }

        func ratio(_ tls: Double, _ plaintext: Double) -> String { String(format: "%.2f", tls / plaintext) }
        print("upsert, batches of \(settings.batchSize), median vectors/s of \(settings.rounds) rounds: plaintext | TLS | TLS/plaintext (target ≥ 0.90)")
        for (mode, label) in [(Mode.inTurn, "one client, Upsert in turn"), (.concurrent, "\(writers) concurrent clients, Upsert"), (.stream, "one UpsertStream")] {
            let p = Percentile.median(rates[mode]?["plaintext"] ?? [])
            let t = Percentile.median(rates[mode]?["TLS"] ?? [])
            print("  \(label.padding(toLength: 32, withPad: " ", startingAt: 0)) \(BenchEngine.format(p)) | \(BenchEngine.format(t)) | \(ratio(t, p))")
        }
        print("")
        print("single-query search, k=10, \(settings.rounds * single.count) queries per path: p50 (p99) plaintext | TLS | TLS/plaintext p50 (target ≤ 1.15)")
        func ms(_ samples: [Double], _ p: Double) -> Double { Percentile.of(samples, p) * 1000 }
        for (collection, rows) in [("full", settings.count), ("tiny", 100)] {
            for viaSession in [false, true] {
                let p = latencies[collection]?["plaintext"]?[viaSession] ?? []
                let t = latencies[collection]?["TLS"]?[viaSession] ?? []
                let label = "\(rows) rows, \(viaSession ? "SearchSession" : "Search")".padding(toLength: 32, withPad: " ", startingAt: 0)
                print(
                    "  \(label) \(String(format: "%.3f (%.3f) ms | %.3f (%.3f) ms", ms(p, 50), ms(p, 99), ms(t, 50), ms(t, 99))) | \(ratio(ms(t, 50), ms(p, 50)))")
            }
        }
        let p = health["plaintext"] ?? []
        let t = health["TLS"] ?? []
        print(
            "  \("an empty call (Health)".padding(toLength: 32, withPad: " ", startingAt: 0)) \(String(format: "%.3f (%.3f) ms | %.3f (%.3f) ms", ms(p, 50), ms(p, 99), ms(t, 50), ms(t, 99))) | \(ratio(ms(t, 50), ms(p, 50)))")

        for (server, serving, _) in [plain, secure] {
            server.beginGracefulShutdown()
            try await serving.value
        }
    }

    /// A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files in
    /// `directory`; the certificate is its own CA.
    static func selfSignedCertificate(in directory: String) throws -> (chain: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let signer = Certificate.PrivateKey(key)
        let name = try DistinguishedName { CommonName("quiver-bench") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: signer.publicKey,
            notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(86_400), issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            },
            issuerPrivateKey: signer)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let chain = directory + "/bench-cert.pem"
        let keyFile = directory + "/bench-key.pem"
        try certificate.serializeAsPEM().pemString.write(toFile: chain, atomically: true, encoding: .utf8)
        try key.pemRepresentation.write(toFile: keyFile, atomically: true, encoding: .utf8)
        return (chain, keyFile)
    }
}
