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
}
