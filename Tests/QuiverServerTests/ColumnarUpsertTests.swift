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

/// The columnar upsert (`UpsertRequest.columns`), sent by the generated stub as a client in
/// another language would build it: records read back bit for bit, searches equal a brute-force
/// oracle, and every malformed column is refused whole with nothing written.
@Suite struct ColumnarUpsertTests {
    static let schema = CollectionSchema(
        name: "c", dimension: 8, metric: .l2,
        fields: [
            FieldSchema(name: "year", type: .int64), FieldSchema(name: "price", type: .double), FieldSchema(name: "live", type: .bool),
            FieldSchema(name: "title", type: .string, nullable: false), FieldSchema(name: "tags", type: .tags),
        ])

    /// Seeded records with every field type, some of them null.
    static func records(_ count: Int, firstID: UInt64 = 0, seed: UInt64) -> [Record] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { i in
            var fields: [String: FieldValue] = ["title": .string("t\(i) ü")]
            if i % 3 != 0 { fields["year"] = .int64(Int64.random(in: -5...3_000, using: &rng)) }
            if i % 4 != 1 { fields["price"] = .double(Double.random(in: -1...1, using: &rng)) }
            if i % 5 != 2 { fields["live"] = .bool(i % 2 == 0) }
            if i % 2 == 0 { fields["tags"] = .tags((0..<(i % 4)).map { "tag\($0)" }) }
            return Record(id: RecordID(firstID + UInt64(i)), vector: (0..<8).map { _ in Float.random(in: -1...1, using: &rng) }, fields: fields)
        }
    }

    /// Sends one upsert through the generated stub, with the columns `columns` makes.
    static func upsert(_ server: TestServer, _ columns: Quiver_V1_RecordColumns, records: [Quiver_V1_Record] = []) async throws {
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: server.host, port: server.port), transportSecurity: .plaintext)
        try await withGRPCClient(transport: transport) { grpc in
            let data = Quiver_V1_DataService.Client(wrapping: grpc)
            _ = try await data.upsert(.with {
                $0.collection = "c"
                $0.columns = columns
                $0.records = records
            })
        }
    }

    @Test func columnsReadBackExactlyAndSearchLikeABruteForceOracle() async throws {
        let server = try await TestServer()
        let records = Self.records(600, seed: 21)
        try await server.withClient { client async throws in
            _ = try await client.createCollection(Self.schema)
            for start in stride(from: 0, to: records.count, by: 200) {
                try await Self.upsert(server, try #require(Quiver_V1_RecordColumns(Array(records[start..<(start + 200)]))))
            }
            let stored = try await client.get("c", ids: records.map(\.id))
            for (record, read) in zip(records, stored) {
                let read = try #require(read)
                #expect(read.vector?.map(\.bitPattern) == record.vector.map(\.bitPattern), "record \(record.id)")
                var expected = record.fields
                for field in Self.schema.fields where expected[field.name] == nil { expected[field.name] = .null }
                #expect(read.fields == expected, "record \(record.id)")
            }
            var oracle = BruteForceOracle(metric: .l2, dimension: 8)
            for record in records { oracle.upsert(record.id, record.vector) }
            var rng = SeededRandom(seed: 22)
            for _ in 0..<20 {
                let query = (0..<8).map { _ in Float.random(in: -1...1, using: &rng) }
                let hits = try await client.search("c", queries: [query], k: 10)[0]
                #expect(hits.map(\.id) == oracle.search(query, k: 10).map(\.id))
            }
            // Replacing through columns replaces whole records, as the row form does.
            try await Self.upsert(server, try #require(Quiver_V1_RecordColumns([Record(id: 5, vector: [Float](repeating: 1, count: 8), fields: ["title": .string("new")])])))
            let five = try #require(try await client.get("c", ids: [5])[0])
            #expect(five.fields["title"] == .string("new") && five.fields["year"] == .null && five.fields["tags"] == .null)
            #expect(try await client.count("c") == 600)
        }
        try await server.stop()
    }

    @Test func malformedColumnsAreRefusedWholeWithNothingWritten() async throws {
        let server = try await TestServer()
        let good = try #require(Quiver_V1_RecordColumns(Self.records(10, firstID: 100, seed: 23)))
        typealias Case = (name: String, reason: QuiverError.Reason, field: String?, message: String, edit: (inout Quiver_V1_RecordColumns) -> Void)
        let cases: [Case] = [
            ("no rows", .emptyBatch, "rows", "no rows", { $0.rows = 0 }),
            ("too many rows", .limitExceeded, "rows", "at most 100000", { $0.rows = 100_001 }),
            ("ids short", .malformedRequest, "ids", "expected 10 rows × 8", { $0.ids = $0.ids.prefix(72) }),
            ("vectors ragged", .dimensionMismatch, "vector", "not 10 rows", { $0.vectors = $0.vectors.prefix(319) }),
            ("wrong dimension", .dimensionMismatch, "vector", "has dimension 4, expected 8", { $0.vectors = $0.vectors.prefix(160) }),
            ("mask length", .malformedRequest, "year", "null mask of 9 bytes for 10 rows", { $0.fields["year"]!.nulls = Data(repeating: 0, count: 9) }),
            ("mask value", .malformedRequest, "year", "null mask holds 2 at row 3", { $0.fields["year"]!.nulls = Data([0, 0, 0, 2, 0, 0, 0, 0, 0, 0]) }),
            ("bool value", .malformedRequest, "live", "holds 7 at row 1", { $0.fields["live"]!.values = .boolValues(Data([1, 7, 0, 0, 0, 0, 0, 0, 0, 0])) }),
            ("int64 bytes", .malformedRequest, "year", "holds 79 bytes of int64", { $0.fields["year"]!.values = .int64Values(Data(count: 79)) }),
            ("strings short", .malformedRequest, "title", "holds 9 strings for 10 rows", { $0.fields["title"]!.stringValues.values.removeLast() }),
            ("tags short", .malformedRequest, "tags", "holds 11 tag lists for 10 rows", { $0.fields["tags"]!.tagsValues.values.append(.init()) }),
            ("wrong type", .fieldTypeMismatch, "title", "row 0 of the batch", { $0.fields["title"]!.values = .int64Values(Data(count: 80)) }),
            ("required null", .nullNotAllowed, "title", "(row 4 of the batch)", { $0.fields["title"]!.nulls = Data([0, 0, 0, 0, 1, 0, 0, 0, 0, 0]) }),
            ("unknown field", .unknownField, "color", "row 0 of the batch", { $0.fields["color"] = .with { $0.int64Values = Data(count: 80) } }),
            ("nan vector", .nonFiniteVector, "vector", "(row 7 of the batch)", { columns in
                var floats: [Float] = PackedValues.decode(columns.vectors)
                floats[7 * 8 + 2] = .nan
                columns.vectors = PackedValues.encode(floats)
            }),
            ("duplicate id", .duplicateID, "id", "(row 6 of the batch)", { columns in
                var ids: [UInt64] = PackedValues.decode(columns.ids)
                ids[6] = ids[2]
                columns.ids = PackedValues.encode(ids)
            }),
        ]
        try await server.withClient { client async throws in
            _ = try await client.createCollection(Self.schema)
            for (name, reason, field, message, edit) in cases {
                var columns = good
                edit(&columns)
                let error = await thrownError { try await Self.upsert(server, columns) }
                #expect(error?.code == .invalidArgument && error?.reason == reason, "\(name): \(String(describing: error))")
                #expect(error?.field == field && error?.collection == "c", "\(name): \(String(describing: error))")
                #expect(error?.message.contains(message) == true, "\(name): \(error?.message ?? "no error")")
                #expect(try await client.count("c") == 0, "\(name) wrote records")
            }
            // Rows and columns at once.
            let both = await thrownError { try await Self.upsert(server, good, records: [Quiver_V1_Record(Record(id: 1, vector: [Float](repeating: 0, count: 8)))]) }
            #expect(both?.reason == .malformedRequest && both?.field == "columns", "\(String(describing: both))")
            try await Self.upsert(server, good)
            #expect(try await client.count("c") == 10)
        }
        try await server.stop()
    }
}
