import QuiverCore
import QuiverEngine
import QuiverTesting
import Testing

/// Compares a search of the engine with the brute-force oracle.
///
/// With `exact`, the vectors are small integers and every score is exactly representable, so ids,
/// scores and the order of ties must be identical. Otherwise each rank's score must agree within
/// rounding, every returned score must be the true score of that record, and ids must be distinct.
func checkSearch(
    _ db: Database, _ collection: String, oracle: BruteForceOracle, queries: [[Float]], k: Int, exact: Bool,
    context: String, sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let results = try await db.search(collection, queries: queries, k: k)
    #expect(results.count == queries.count, sourceLocation: sourceLocation)
    for (q, query) in queries.enumerated() {
        let want = oracle.search(query, k: k)
        let got = results[q]
        #expect(got.count == want.count, "\(context) q=\(q)", sourceLocation: sourceLocation)
        if exact {
            #expect(got.map(\.id) == want.map(\.id), "\(context) q=\(q)", sourceLocation: sourceLocation)
            #expect(got.map { Double($0.score) } == want.map(\.score), "\(context) q=\(q)", sourceLocation: sourceLocation)
            continue
        }
        #expect(Set(got.map(\.id)).count == got.count, "\(context): duplicate ids", sourceLocation: sourceLocation)
        for (rank, (g, w)) in zip(got, want).enumerated() {
            let tolerance = 1e-4 * max(1, abs(w.score))
            #expect(abs(Double(g.score) - w.score) <= tolerance, "\(context) q=\(q) rank \(rank)", sourceLocation: sourceLocation)
            guard let stored = oracle.vectors[g.id] else {
                Issue.record("\(context): returned id \(g.id) is not live", sourceLocation: sourceLocation)
                continue
            }
            let trueScore = oracle.score(query: query, stored: stored)
            #expect(abs(Double(g.score) - trueScore) <= tolerance, "\(context): score of \(g.id)", sourceLocation: sourceLocation)
        }
    }
}

/// Random vectors for the property tests: small integers (exact arithmetic) or clustered floats.
func randomVector(_ dimension: Int, integer: Bool, using rng: inout SeededRandom) -> [Float] {
    var v: [Float]
    repeat {
        v = (0..<dimension).map { _ in
            integer ? Float(Int.random(in: -4...4, using: &rng)) : Float.random(in: -1...1, using: &rng)
        }
    } while v.allSatisfy { $0 == 0 }
    return v
}
