@testable import QuiverStorage
import QuiverCore
import Testing

@Suite struct RowCodecTests {
    let schema = CollectionSchema(
        name: "c", dimension: 2, metric: .l2,
        fields: [
            FieldSchema(name: "i", type: .int64), FieldSchema(name: "d", type: .double),
            FieldSchema(name: "b", type: .bool), FieldSchema(name: "s", type: .string),
            FieldSchema(name: "t", type: .tags),
        ])

    @Test func fieldsRoundTripBitForBit() throws {
        let values: [FieldValue] = [
            .int64(.min), .double(-0.0), .bool(true), .string("héllo \u{0}\"x"), .tags(["", "a", "日本"]),
        ]
        let bytes = RowCodec.encodeFields(values)
        let decoded = try bytes.withBytes { (raw) throws(QuiverError) in try RowCodec.decodeFields(raw, schema: schema) }
        #expect(decoded == values)
        if case .double(let d) = decoded[1] { #expect(d.sign == .minus) }
        let nulls: [FieldValue] = Array(repeating: .null, count: 5)
        #expect(try RowCodec.encodeFields(nulls).withBytes { (raw) throws(QuiverError) in try RowCodec.decodeFields(raw, schema: schema) } == nulls)
    }

    /// Every truncation of a valid value is reported as corruption, never misread or trapped on.
    @Test func everyTruncationIsCorruption() {
        let bytes = RowCodec.encodeFields([.int64(1), .double(2), .bool(false), .string("abc"), .tags(["x", "yz"])])
        for length in 0..<bytes.count {
            let prefix = Array(bytes[0..<length])
            do throws(QuiverError) {
                _ = try prefix.withBytes { (raw) throws(QuiverError) in try RowCodec.decodeFields(raw, schema: schema) }
                Issue.record("a \(length)-byte prefix decoded")
            } catch {
                #expect(error.code == .corruption)
            }
        }
    }

    @Test func wrongTagTypeAndTrailingBytesAreCorruption() {
        var bytes = RowCodec.encodeFields([.int64(1), .null, .null, .null, .null])
        bytes[3] = 3  // the int64 field's tag now says bool
        #expect(throws: QuiverError.self) { try bytes.withBytes { (raw) throws(QuiverError) in try RowCodec.decodeFields(raw, schema: schema) } }
        var trailing = RowCodec.encodeFields(Array(repeating: .null, count: 5))
        trailing.append(0)
        #expect(throws: QuiverError.self) { try trailing.withBytes { (raw) throws(QuiverError) in try RowCodec.decodeFields(raw, schema: schema) } }
        var unknownTag = RowCodec.encodeFields(Array(repeating: .null, count: 5))
        unknownTag[3] = 9
        #expect(throws: QuiverError.self) { try unknownTag.withBytes { (raw) throws(QuiverError) in try RowCodec.decodeFields(raw, schema: schema) } }
    }

    @Test func vectorValueRoundTripsAndChecksLength() throws {
        let vector: [Float] = [.leastNonzeroMagnitude, -.greatestFiniteMagnitude]
        let bytes = RowCodec.encodeVector(id: 42, vector: vector)
        try bytes.withBytes { (raw) throws(QuiverError) in
            let (id, floats) = try RowCodec.decodeVector(raw, dimension: 2)
            #expect(id == 42)
            #expect(Array(floats.bindMemory(to: Float.self)) == vector)
            #expect(throws: QuiverError.self) { try RowCodec.decodeVector(raw, dimension: 3) }
        }
    }

    @Test func rowKeysSortByCollectionThenRow() {
        let keys = [
            KeyLayout.row(CollectionID(1), RowID(300)), KeyLayout.row(CollectionID(1), RowID(2)),
            KeyLayout.row(CollectionID(2), RowID(0)), KeyLayout.row(CollectionID(0), RowID(.max - 1)),
        ]
        let sorted = keys.sorted { $0.lexicographicallyPrecedes($1) }
        #expect(sorted == [keys[3], keys[1], keys[0], keys[2]])
        let range = KeyLayout.rows(of: CollectionID(1))
        for key in keys {
            let inside = !key.lexicographicallyPrecedes(range.start) && key.lexicographicallyPrecedes(range.end)
            #expect(inside == (key == keys[0] || key == keys[1]))
        }
    }
}
