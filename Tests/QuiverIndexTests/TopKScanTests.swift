import QuiverCore
import QuiverIndex
import QuiverTesting
import Testing

/// Quiver's scan kernels (AVX-512 / AVX2 / portable, per-query and sgemm paths) against a naive
/// Double-precision loop.
@Suite struct TopKScanTests {
    /// Naive ranking: (score, label) best first, with excluded rows skipped.
    func naive(
        queries: [Float], base: [Float], labels: [RecordID], dimension d: Int, k: Int, ip: Bool, excluded: Set<Int>
    ) -> [[(score: Double, label: RecordID)]] {
        let nq = queries.count / d
        let nb = base.count / d
        return (0..<nq).map { q in
            var hits: [(score: Double, label: RecordID)] = []
            for i in 0..<nb where !excluded.contains(i) {
                var s = 0.0
                for j in 0..<d {
                    let x = Double(queries[q * d + j]), y = Double(base[i * d + j])
                    s += ip ? x * y : (x - y) * (x - y)
                }
                hits.append((s, labels[i]))
            }
            hits.sort { a, b in a.score != b.score ? (ip ? a.score > b.score : a.score < b.score) : a.label < b.label }
            return Array(hits.prefix(k))
        }
    }

    func scan(
        queries: [Float], base: [Float], labels: [RecordID], dimension d: Int, k: Int, ip: Bool, excluded: Set<Int>,
        blockRows: Int
    ) throws -> [[TopKAccumulator.Hit]] {
        var accumulator = TopKAccumulator(queries: queries, dimension: d, k: k, innerProduct: ip)
        let nb = base.count / d
        // Split the rows over several blocks, as the engine does, to exercise heap merging.
        var start = 0
        var blockIndex = 0
        while start < nb {
            let count = min(blockRows, nb - start)
            let block = VectorBlock(dimension: d, capacity: blockRows)
            var skipped = RowBitmap(count: blockRows)
            for r in 0..<count {
                block.write(
                    row: r, id: labels[start + r], rowID: RowID(UInt64(start + r)),
                    vector: Array(base[((start + r) * d)..<((start + r + 1) * d)]))
                if excluded.contains(start + r) { skipped.insert(r) }
            }
            try block.scan(
                count: count, excluded: excluded.isEmpty ? nil : skipped, locationBase: Int64(blockIndex) << 32,
                into: &accumulator)
            start += count
            blockIndex += 1
        }
        return accumulator.finish()
    }

    /// Integer-valued vectors make every kernel exact, so results must match bit for bit,
    /// including the order of ties.
    @Test(arguments: [1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100, 128])
    func integerDataMatchesExactlyIncludingTies(dimension: Int) throws {
        var rng = SeededRandom(seed: UInt64(dimension))
        let nb = 700
        let base = (0..<(nb * dimension)).map { _ in Float(Int.random(in: -3...3, using: &rng)) }
        // Labels shuffled so that tie order is not row order.
        let labels = (0..<nb).map { RecordID(UInt64($0) * 7919 % 10_007) }
        let excluded = Set((0..<nb).filter { _ in Int.random(in: 0..<10, using: &rng) == 0 })
        for nq in [1, 5, 19, 20, 45] {
            let queries = (0..<(nq * dimension)).map { _ in Float(Int.random(in: -3...3, using: &rng)) }
            for ip in [false, true] {
                for k in [1, 10, 250, 1000] {
                    let got = try scan(
                        queries: queries, base: base, labels: labels, dimension: dimension, k: k, ip: ip,
                        excluded: excluded, blockRows: 256)
                    let want = naive(queries: queries, base: base, labels: labels, dimension: dimension, k: k, ip: ip, excluded: excluded)
                    #expect(got.count == nq)
                    for q in 0..<nq {
                        #expect(got[q].map(\.label) == want[q].map(\.label), "d=\(dimension) nq=\(nq) ip=\(ip) k=\(k) q=\(q)")
                        #expect(got[q].map { Double($0.score) } == want[q].map(\.score))
                    }
                }
            }
        }
    }

    @Test func locationsPointBackToTheRow() throws {
        let d = 4
        let base: [Float] = (0..<40).map(Float.init)
        let labels: [RecordID] = (0..<10).map { RecordID(100 + UInt64($0)) }
        let got = try scan(
            queries: Array(base[(6 * d)..<(7 * d)]), base: base, labels: labels, dimension: d, k: 3, ip: false,
            excluded: [], blockRows: 4)
        #expect(got[0].map(\.label) == [106, 105, 107])
        // Row 6 is row 2 of block 1; rows 5 and 7 are rows 1 and 3 of block 1.
        #expect(got[0].map(\.location) == [(1 << 32) | 2, (1 << 32) | 1, (1 << 32) | 3])
        #expect(got[0][0].score == 0)
    }

    @Test func randomFloatDataAgreesWithinRounding() throws {
        let d = 96
        let data = ClusteredDataset(dimension: d, clusters: 10, seed: 5)
        let base = data.points(count: 3000, stream: 0)
        let labels = (0..<3000).map { RecordID(UInt64($0)) }
        for nq in [3, 64] {
            let queries = data.points(count: nq, stream: 1)
            for ip in [false, true] {
                let got = try scan(queries: queries, base: base, labels: labels, dimension: d, k: 20, ip: ip, excluded: [], blockRows: 1024)
                let want = naive(queries: queries, base: base, labels: labels, dimension: d, k: 20, ip: ip, excluded: [])
                for q in 0..<nq {
                    for (g, w) in zip(got[q], want[q]) {
                        #expect(abs(Double(g.score) - w.score) <= 1e-3 * max(1, abs(w.score)))
                    }
                }
            }
        }
    }

    @Test func kernelIsReported() {
        #expect(["avx512", "avx2+fma", "portable"].contains(ComputeThreads.kernelName))
    }
}
