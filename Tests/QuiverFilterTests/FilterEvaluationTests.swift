import QuiverCore
import QuiverFilter
import QuiverTesting
import Testing

/// Random filter expressions from a generator over the grammar, each built together with a plain
/// Swift predicate of the documented semantics; the parsed filter must agree with the predicate on
/// random rows (with nulls) for every expression — row by row (`matches`), over the columns of a
/// growing segment, and through a frozen segment's indexes.
@Suite struct FilterEvaluationTests {
    static let schema = FilterParserTests.schema
    @Test(arguments: [1, 2, 3, 4])
    func randomFiltersAgreeWithTheirPredicates(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let rows = (0..<300).map { _ in FilterGenerator.randomRow(&rng) }
        var columns = FieldColumns(schema: Self.schema)
        for row in rows { columns.append(row) }
        let frozen = SegmentFields(freezing: columns)
        for (i, row) in rows.enumerated() {
            for field in row.indices { #expect(frozen.columns.value(field, at: i) == row[field]) }
        }
        var passing = 0
        for _ in 0..<200 {
            let (text, predicate) = FilterGenerator.expression(&rng, depth: 3)
            let filter = try Filter.parse(text, schema: Self.schema)
            for row in rows {
                let want = predicate(row)
                passing += want ? 1 : 0
                #expect(filter.matches(row) == want, "seed \(seed): \(text) on \(row)")
            }
            let want = rows.indices.filter { predicate(rows[$0]) }.map(Int64.init)
            #expect(filter.rows(in: columns, count: rows.count).rows == want, "seed \(seed), scanned: \(text)")
            #expect(filter.rows(in: frozen).rows == want, "seed \(seed), indexed: \(text)")
            // A prefix of the rows, as a view of a growing segment sees it.
            #expect(filter.rows(in: columns, count: 100).rows == want.filter { $0 < 100 }, "seed \(seed), prefix: \(text)")
        }
        // Neither trivially all nor trivially none.
        #expect(passing > 200 * 300 / 20 && passing < 200 * 300 * 19 / 20, "\(passing)")
    }

    /// Tag functions with an empty list, found by the filter fuzzer: `contains_all(f, [])` holds
    /// for every row with tags (an empty list included) and for no null row, `contains_any(f, [])`
    /// for none — through the indexes as row by row (the indexes returned the null rows too).
    @Test func tagFunctionsWithAnEmptyListAgreeEverywhere() throws {
        let rows: [[FieldValue]] = (0..<40).map { i in
            var row = [FieldValue](repeating: .null, count: Self.schema.fields.count)
            let labels = Self.schema.fields.firstIndex { $0.type == .tags }!
            row[labels] = i % 4 == 0 ? .null : .tags(Array(["a", "b"].prefix(i % 3)))
            return row
        }
        var columns = FieldColumns(schema: Self.schema)
        for row in rows { columns.append(row) }
        let frozen = SegmentFields(freezing: columns)
        for text in ["contains_all(labels, [])", "contains_any(labels, [])", "not contains_all(labels, [])"] {
            let filter = try Filter.parse(text, schema: Self.schema)
            let want = rows.indices.filter { filter.matches(rows[$0]) }.map(Int64.init)
            #expect(filter.rows(in: columns, count: rows.count).rows == want, "scanned: \(text)")
            #expect(filter.rows(in: frozen).rows == want, "indexed: \(text)")
        }
        let all = try Filter.parse("contains_all(labels, [])", schema: Self.schema)
        #expect(all.rows(in: frozen).cardinality == 30)
    }
}
