import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import QuiverClient
import QuiverCore
import QuiverProto
import QuiverServerTesting
import QuiverTesting
import QuiverWire
import Testing

/// Bad input over the wire: each gets its status code and a message naming the problem, the
/// server keeps serving, and nothing is written.
@Suite struct BadInputTests {
    static let schema = CollectionSchema(name: "v", dimension: 4, metric: .l2, fields: [FieldSchema(name: "n", type: .int64)])

    /// A collection with two records, whose state every case checks afterwards.
    static func prepare(_ client: QuiverClient) async throws {
        _ = try await client.createCollection(schema)
        _ = try await client.upsert("v", [Record(id: 1, vector: [1, 2, 3, 4]), Record(id: 2, vector: [4, 3, 2, 1])])
    }

    static func expectUnchanged(_ client: QuiverClient, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(try await client.health(), sourceLocation: sourceLocation)
        #expect(try await client.describeCollection("v").rows == 2, sourceLocation: sourceLocation)
        #expect(try await client.get("v", ids: [1, 2, 3, 4_096]).map { $0?.id } == [1, 2, nil, nil], sourceLocation: sourceLocation)
    }

    @Test func badRecordsAndQueriesAreRejectedWithTheirFieldAndValue() async throws {
        let server = try await TestServer()
        try await server.withClient { client async throws in
            try await Self.prepare(client)

            let dimension = await thrownError { _ = try await client.upsert("v", [Record(id: 3, vector: [1, 2, 3])]) }
            #expect(dimension?.code == .invalidArgument && dimension?.reason == .dimensionMismatch)
            #expect(dimension?.collection == "v" && dimension?.field == "vector" && dimension?.value == "3")
            #expect(dimension?.message.contains("record 3 has dimension 3, expected 4") == true)

            let nan = await thrownError {
                _ = try await client.upsert("v", [Record(id: 3, vector: [1, 2, 3, 4]), Record(id: 4, vector: [1, .nan, 3, 4])])
            }
            #expect(nan?.code == .invalidArgument && nan?.reason == .nonFiniteVector && nan?.field == "vector")
            #expect(nan?.message.contains("record 4") == true)

            let nanQuery = await thrownError { _ = try await client.search("v", queries: [[.nan, 0, 0, 0]], k: 1) }
            #expect(nanQuery?.reason == .nonFiniteVector)

            let mistyped = await thrownError {
                _ = try await client.upsert("v", [Record(id: 3, vector: [1, 2, 3, 4], fields: ["n": .string("x")])])
            }
            #expect(mistyped?.reason == .fieldTypeMismatch && mistyped?.field == "n" && mistyped?.value == "\"x\"")

            let missing = await thrownError { _ = try await client.upsert("nope", [Record(id: 3, vector: [1, 2, 3, 4])]) }
            #expect(missing?.code == .notFound && missing?.reason == .collectionNotFound && missing?.collection == "nope")
            let missingSearch = await thrownError { _ = try await client.search("nope", queries: [[1, 2, 3, 4]], k: 1) }
            #expect(missingSearch?.code == .notFound)

            let badK = await thrownError { _ = try await client.search("v", queries: [[1, 2, 3, 4]], k: 0) }
            #expect(badK?.reason == .invalidK && badK?.field == "k" && badK?.value == "0")
            let tooManyQueries = await thrownError {
                _ = try await client.search("v", queries: Array(repeating: [1, 2, 3, 4], count: 4_097), k: 1)
            }
            #expect(tooManyQueries?.reason == .limitExceeded)

            try await Self.expectUnchanged(client)
        }
        try await server.stop()
    }

    @Test func badFiltersAreInvalidArgumentsWithTheirColumn() async throws {
        let server = try await TestServer()
        try await server.withClient { client async throws in
            try await Self.prepare(client)
            for filter in ["missing > 1", "(", "\"unterminated"] {
                do {
                    _ = try await client.search("v", queries: [[1, 2, 3, 4]], k: 1, options: SearchOptions(filter: filter))
                    Issue.record("accepted \(filter)")
                } catch let error as QuiverError {
                    #expect(error.code == .invalidArgument && error.reason == .invalidFilter, "\(error)")
                    #expect(error.message.contains("column") && error.collection == "v" && error.field == "filter", "\(error.message)")
                }
            }
            // Still serving, and nothing was deleted by a refused delete.
            let before = try await client.count("v")
            await #expect(throws: QuiverError.self) { try await client.delete("v", filter: "missing > 1") }
            #expect(try await client.count("v") == before)
        }
        try await server.stop()
    }

    @Test func oversizeMessageIsResourceExhaustedAndWritesNothing() async throws {
        let server = try await TestServer(arguments: ["--max-message-bytes", String(1 << 20)])
        try await server.withClient { client async throws in
            try await Self.prepare(client)
            // 60,000 records of 4 floats: about 1.7 MB on the wire, over the 1 MiB limit, and
            // under the 100,000-record batch limit, so only the message size can reject it.
            let oversized = (0..<60_000).map { Record(id: RecordID(UInt64(100 + $0)), vector: [1, 2, 3, 4]) }
            let request = Quiver_V1_UpsertRequest.with { $0.collection = "v"; $0.records = oversized.map(Quiver_V1_Record.init) }
            #expect(try (request.serializedBytes() as [UInt8]).count > 1 << 20)
            let error = await thrownError { _ = try await client.upsert("v", oversized) }
            #expect(error?.code == .resourceExhausted)
            #expect(error?.reason == .messageTooLarge)
            try await Self.expectUnchanged(client)
        }
        try await server.stop()
    }

    /// A refused request leaves bytes in flight that the server never reads (the client had sent
    /// them before the refusal reached it); they still use the connection's flow-control window.
    /// Ten refused 3 MiB requests (30 MiB in all) must not use up the connection's 16 MiB: the
    /// same connection serves the next call. (With the window top-up disabled, the sixth call
    /// hangs.) The client is Python's grpcio on one channel (one connection): grpc-swift's client
    /// hung on the first refused call, three runs in a row under the full suite and never alone
    /// (docs/operations.md, "Known issues").
    @Test func refusedLargeRequestsDoNotWedgeTheirConnection() async throws {
        let server = try await TestServer(arguments: ["--max-message-bytes", String(1 << 20)])
        try await server.withClient { client async throws in try await Self.prepare(client) }
        let probe = try await HostileClientTests.probe(
            server, ["refused-large-requests", "--calls", "10", "--length", String(3 << 20), "--timeout", "30"])
        #expect(probe["codes"] as? [String] == Array(repeating: "RESOURCE_EXHAUSTED", count: 10), "\(probe)")
        #expect(probe["health"] as? String == "SERVING", "\(probe)")
        try await server.withClient { client async throws in try await Self.expectUnchanged(client) }
        try await server.stop()
    }

    @Test func malformedProtobufBytesAreInvalidArgument() async throws {
        let server = try await TestServer()
        try await server.withClient { client async throws in try await Self.prepare(client) }
        try await Self.withRawClient(server) { grpc in
            // A truncated varint and a length prefix past the end: not a protobuf message.
            for garbage: [UInt8] in [[0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [0x12, 0x7F, 0x01], Array(repeating: 0xFF, count: 64)] {
                do {
                    _ = try await grpc.unary(
                        request: ClientRequest(message: garbage), descriptor: Quiver_V1_DataService.Method.Upsert.descriptor,
                        serializer: RawBytes(), deserializer: RawBytes(), options: .defaults
                    ) { try $0.message }
                    Issue.record("garbage \(garbage) was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .invalidArgument, "\(error)")
                    #expect(!error.message.isEmpty)
                }
            }
        }
        try await server.withClient { client async throws in try await Self.expectUnchanged(client) }
        try await server.stop()
    }

    @Test func aFailedStreamKeepsTheBatchesBeforeItAndCountsThem() async throws {
        let server = try await TestServer()
        try await server.withClient { client async throws in try await Self.prepare(client) }
        try await Self.withRawClient(server) { grpc in
            let data = Quiver_V1_DataService.Client(wrapping: grpc)
            let batches: [[Record]] = [
                [Record(id: 10, vector: [1, 1, 1, 1])], [Record(id: 11, vector: [2, 2, 2, 2])],
                [Record(id: 12, vector: [3, 3, 3])],  // wrong dimension
                [Record(id: 13, vector: [4, 4, 4, 4])],
            ]
            let request = StreamingClientRequest<Quiver_V1_UpsertRequest> { writer in
                for batch in batches {
                    try await writer.write(.with { $0.collection = "v"; $0.records = batch.map(Quiver_V1_Record.init) })
                }
            }
            do {
                _ = try await data.upsertStream(request: request)
                Issue.record("the stream succeeded")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.metadata[stringValues: "quiver-committed-batches"].first(where: { _ in true }) == "2")
                #expect(WireError.quiverError(error).reason == .dimensionMismatch)
            }
        }
        try await server.withClient { client async throws in
            #expect(try await client.get("v", ids: [10, 11, 12, 13]).map { $0?.id } == [10, 11, nil, nil])
        }
        try await server.stop()
    }

    /// Runs `body` with a plain grpc-swift client, for requests QuiverClient cannot make.
    static func withRawClient(_ server: TestServer, _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Void) async throws {
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: server.host, port: server.port), transportSecurity: .plaintext)
        try await withGRPCClient(transport: transport) { try await body($0) }
    }
}

/// Sends and receives bytes as they are.
struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}
