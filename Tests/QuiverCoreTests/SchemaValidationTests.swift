import QuiverCore
import Testing

@Suite struct SchemaValidationTests {
    let schema = CollectionSchema(
        name: "docs", dimension: 3, metric: .l2,
        fields: [
            FieldSchema(name: "year", type: .int64),
            FieldSchema(name: "price", type: .double),
            FieldSchema(name: "ok", type: .bool),
            FieldSchema(name: "title", type: .string, nullable: false),
            FieldSchema(name: "labels", type: .tags),
        ])

    func reason(_ body: () throws(QuiverError) -> Void) -> QuiverError.Reason? {
        do throws(QuiverError) {
            try body()
            return nil
        } catch { return error.reason }
    }

    @Test func validSchemaPasses() throws {
        try schema.validate()
    }

    @Test(arguments: ["", "1abc", "a b", "x/y", String(repeating: "a", count: 129), "é"])
    func badCollectionNamesAreRejected(name: String) {
        #expect(reason { () throws(QuiverError) in try CollectionSchema(name: name, dimension: 4, metric: .l2).validate() } == .invalidName)
    }

    @Test(arguments: ["a", "A-b_9", String(repeating: "z", count: 128)])
    func goodCollectionNamesPass(name: String) throws {
        try CollectionSchema(name: name, dimension: 4, metric: .l2).validate()
    }

    @Test(arguments: [0, -1, 4097])
    func dimensionOutOfRangeIsRejected(dimension: Int) {
        #expect(reason { () throws(QuiverError) in try CollectionSchema(name: "c", dimension: dimension, metric: .ip).validate() } == .invalidDimension)
    }

    @Test(arguments: ["and", "ID", "vector", "9x", "a-b", ""])
    func badFieldNamesAreRejected(name: String) {
        let s = CollectionSchema(name: "c", dimension: 2, metric: .l2, fields: [FieldSchema(name: name, type: .int64)])
        #expect(reason { () throws(QuiverError) in try s.validate() } == .invalidName)
    }

    @Test func duplicateAndTooManyFieldsAreRejected() {
        let dup = CollectionSchema(
            name: "c", dimension: 2, metric: .l2,
            fields: [FieldSchema(name: "a", type: .int64), FieldSchema(name: "a", type: .bool)])
        #expect(reason { () throws(QuiverError) in try dup.validate() } == .invalidSchema)
        let many = CollectionSchema(
            name: "c", dimension: 2, metric: .l2, fields: (0...64).map { FieldSchema(name: "f\($0)", type: .int64) })
        #expect(reason { () throws(QuiverError) in try many.validate() } == .invalidSchema)
    }

    @Test func recordIsPreparedInSchemaOrderWithNullsAndWidening() throws {
        let v = try schema.validate(Record(id: 7, vector: [1, 2, 3], fields: ["title": .string("t"), "price": .int64(5)]))
        #expect(v.values == [.null, .double(5), .null, .string("t"), .null])
        #expect(v.vector == [1, 2, 3])
    }

    @Test func recordRejections() {
        func check(_ record: Record, _ expected: QuiverError.Reason, field: String? = nil) {
            do throws(QuiverError) {
                _ = try schema.validate(record)
                Issue.record("accepted \(record)")
            } catch {
                #expect(error.reason == expected)
                #expect(error.code == .invalidArgument)
                #expect(error.collection == "docs")
                if let field { #expect(error.field == field) }
            }
        }
        let title: [String: FieldValue] = ["title": .string("t")]
        check(Record(id: 1, vector: [1, 2], fields: title), .dimensionMismatch, field: "vector")
        check(Record(id: 1, vector: [1, .nan, 3], fields: title), .nonFiniteVector, field: "vector")
        check(Record(id: 1, vector: [1, .infinity, 3], fields: title), .nonFiniteVector)
        check(Record(id: 1, vector: [1, 2, 3], fields: ["title": .string("t"), "nope": .int64(1)]), .unknownField, field: "nope")
        check(Record(id: 1, vector: [1, 2, 3], fields: ["title": .int64(1)]), .fieldTypeMismatch, field: "title")
        check(Record(id: 1, vector: [1, 2, 3], fields: ["title": .string("t"), "year": .double(1.5)]), .fieldTypeMismatch, field: "year")
        check(Record(id: 1, vector: [1, 2, 3], fields: ["title": .string("t"), "labels": .string("x")]), .fieldTypeMismatch)
        check(Record(id: 1, vector: [1, 2, 3], fields: [:]), .nullNotAllowed, field: "title")
        check(Record(id: 1, vector: [1, 2, 3], fields: ["title": .null]), .nullNotAllowed)
        check(Record(id: 1, vector: [1, 2, 3], fields: ["title": .string("t"), "price": .double(.nan)]), .nonFiniteValue)
        check(
            Record(id: 1, vector: [1, 2, 3], fields: ["title": .string(String(repeating: "x", count: Limits.stringBytesMax + 1))]),
            .limitExceeded)
    }

    @Test func batchRejections() {
        #expect(reason { () throws(QuiverError) in _ = try schema.validate(batch: []) } == .emptyBatch)
        let r = Record(id: 1, vector: [1, 2, 3], fields: ["title": .string("t")])
        #expect(reason { () throws(QuiverError) in _ = try schema.validate(batch: [r, r]) } == .duplicateID)
    }

    @Test func cosineNormalizesAndRejectsZero() throws {
        let cosine = CollectionSchema(name: "c", dimension: 2, metric: .cosine)
        let v = try cosine.validate(Record(id: 1, vector: [3, 4]))
        #expect(v.vector == [0.6, 0.8])
        #expect(reason { () throws(QuiverError) in _ = try cosine.validate(Record(id: 1, vector: [0, 0])) } == .zeroVector)
    }

    @Test func syncPolicyParsing() {
        #expect(SyncPolicy(parsing: "always") == .always)
        #expect(SyncPolicy(parsing: "none") == SyncPolicy.none)
        #expect(SyncPolicy(parsing: "batch") == .batch(window: SyncPolicy.batchWindowDefault))
        #expect(SyncPolicy(parsing: "batch:5ms") == .batch(window: .milliseconds(5)))
        #expect(SyncPolicy(parsing: "batch:0ms") == nil)
        #expect(SyncPolicy(parsing: "sometimes") == nil)
    }

    /// An error echoes what the caller sent; a huge input stays small in the error (it used to be
    /// echoed whole into the message and the gRPC trailers), keeping its head, its length and the
    /// message's end.
    @Test func errorsAboutHugeInputsAreElided() throws {
        let name = String(repeating: "n", count: 10_000) + "é"
        var found: QuiverError?
        do throws(QuiverError) {
            try CollectionSchema(name: name, dimension: 4, metric: .l2).validate()
        } catch { found = error }
        #expect(found?.reason == .invalidName)
        #expect((found?.message.utf8.count ?? .max) <= QuiverError.messageBytesMax, "\(found?.message.utf8.count ?? 0)")
        #expect(found?.message.contains("bytes) …") == true, "\(found?.message ?? "")")
        #expect((found?.collection?.utf8.count ?? .max) <= QuiverError.echoBytesMax)
        #expect((found?.value?.utf8.count ?? 0) <= QuiverError.echoBytesMax)
        #expect(found?.collection?.hasPrefix("nnnn") == true && found?.collection?.hasSuffix("nné") == true)
        // Short texts are left alone; a cut never splits a character.
        #expect(QuiverError.elided("short", bytesMax: 256) == "short")
        let cut = QuiverError.elided(String(repeating: "é", count: 1_000), bytesMax: 100)
        #expect(cut.utf8.count <= 100 && cut.contains("(2000 bytes)") && !cut.unicodeScalars.contains("\u{FFFD}"))
    }
}
