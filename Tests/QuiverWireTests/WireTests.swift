import Foundation
import GRPCCore
import QuiverCore
import QuiverProto
import QuiverWire
import Testing

@Suite struct WireTests {
    @Test func everyErrorSurvivesTheStatusRoundTrip() {
        for code in QuiverError.Code.allCases {
            for reason in [QuiverError.Reason.dimensionMismatch, .collectionNotFound, .unknown] {
                let error = QuiverError(code, reason, "message ✓", collection: "c-ü", field: "fïeld", value: "välue\nline")
                let status = WireError.rpcError(error)
                #expect(status.code == WireError.statusCode(code))
                #expect(WireError.quiverError(status) == error)
            }
        }
    }

    @Test func statusCodesFollowTheIssue() {
        #expect(WireError.statusCode(.invalidArgument) == .invalidArgument)
        #expect(WireError.statusCode(.notFound) == .notFound)
        #expect(WireError.statusCode(.alreadyExists) == .alreadyExists)
        #expect(WireError.statusCode(.resourceExhausted) == .resourceExhausted)
        #expect(WireError.statusCode(.unauthenticated) == .unauthenticated)
        #expect(WireError.statusCode(.permissionDenied) == .permissionDenied)
        #expect(WireError.statusCode(.deadlineExceeded) == .deadlineExceeded)
        #expect(WireError.statusCode(.corruption) == .dataLoss)
    }

    @Test func transportErrorsWithoutQuiverTrailersAreDescribed() {
        let tooBig = WireError.quiverError(RPCError(code: .resourceExhausted, message: "too big"))
        #expect(tooBig.code == .resourceExhausted && tooBig.reason == .messageTooLarge)
        let down = WireError.quiverError(RPCError(code: .unavailable, message: "refused"))
        #expect(down.code == .unavailable && down.reason == .serverUnavailable)
        let deadline = WireError.quiverError(RPCError(code: .deadlineExceeded, message: ""))
        #expect(deadline.reason == .deadlineExceeded && !deadline.message.isEmpty)
    }

    @Test func vectorsArePackedLittleEndianFloat32BitForBit() throws {
        let vector: [Float] = [1, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.1]
        let data = PackedVectors.encode(vector)
        #expect(Array(data.prefix(4)) == [0x00, 0x00, 0x80, 0x3F])  // 1.0f little-endian
        #expect(try PackedVectors.decode(data, what: "v", collection: "c").map(\.bitPattern) == vector.map(\.bitPattern))
        #expect(throws: QuiverError.self) { try PackedVectors.decode(Data([1, 2, 3]), what: "v", collection: "c") }
        let rows = try PackedVectors.decodeRows(PackedVectors.encode([[1, 2], [3, 4], [5, 6]]), dimension: 2, what: "q", collection: "c")
        #expect(rows == [[1, 2], [3, 4], [5, 6]])
        #expect(throws: QuiverError.self) { try PackedVectors.decodeRows(Data(count: 12), dimension: 2, what: "q", collection: "c") }
        #expect(throws: QuiverError.self) { try PackedVectors.decodeRows(Data(), dimension: 2, what: "q", collection: "c") }
    }

    @Test func schemasRecordsAndValuesRoundTrip() throws {
        let schema = CollectionSchema(
            name: "s", dimension: 3, metric: .cosine,
            fields: FieldType.allCases.enumerated().map { FieldSchema(name: "f\($0.offset)", type: $0.element, nullable: $0.offset % 2 == 0) })
        #expect(try Quiver_V1_CollectionSchema(schema).toDomain() == schema)
        let values: [FieldValue] = [.null, .int64(.min), .double(-0.0), .bool(true), .string("ü"), .tags([]), .tags(["a", ""])]
        for value in values { #expect(Quiver_V1_FieldValue(value).domain == value) }
        let record = Record(id: RecordID(.max), vector: [1, 2, 3], fields: ["a": .int64(1), "b": .null])
        let back = try Quiver_V1_Record(record).toRecord(collection: "s")
        #expect(back.id == record.id && back.vector == record.vector && back.fields == record.fields)
        var unspecified = Quiver_V1_CollectionSchema(schema)
        unspecified.metric = .unspecified
        #expect(throws: QuiverError.self) { try unspecified.toDomain() }
    }

    @Test(arguments: [
        ("127.0.0.1:7733", "127.0.0.1", 7733), ("localhost:0", "localhost", 0), ("[::1]:80", "::1", 80),
        ("db.example:9", "db.example", 9),
    ])
    func addressesParse(text: String, host: String, port: Int) throws {
        let address = try ServerAddress(parsing: text)
        #expect(address.host == host && address.port == port && address.description == text)
    }

    @Test(arguments: ["", "7733", "host:", ":1", "host:70000", "::1:80", "[::1]80", "host:x"])
    func badAddressesAreRejected(text: String) {
        #expect(throws: QuiverError.self) { try ServerAddress(parsing: text) }
    }
}
