import QuiverCore
import QuiverIndex
import QuiverTesting
import Testing

/// The sq8 kernels (AVX2+FMA where the CPU has it, and the portable one) against a Double loop,
/// and Quiver's sq8 list scan against FAISS's own search of the same index.
@Suite struct SQ8KernelTests {
    /// Every dimension class the vector loop has (below 8, 8, 16 and their remainders, large).
    static let dimensions = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 127, 128, 129, 384, 1_000, 4_096]

    @Test(arguments: dimensions)
    func kernelsMatchTheReference(dimension d: Int) {
        var random = SeededRandom(seed: UInt64(d))
        // Odd row counts; codes at both ends of the range beside random ones; tables large and
        // small of either sign (NaN-free extremes).
        let rows = 37
        var codes = (0..<(rows * d)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        for j in 0..<d {
            codes[j] = 0
            codes[d + j] = 255
        }
        let scales: [Float] = [1e-3, 1, 1e3]
        for scale in scales {
            let table = (0..<d).map { _ in Float.random(in: -1...1, using: &random) * scale }
            let steps = (0..<d).map { _ in Float.random(in: 0...1, using: &random) * scale / 255 }
            for ip in [false, true] {
                var want = [Double](repeating: 0, count: rows)
                var magnitude = [Double](repeating: 0, count: rows)
                for i in 0..<rows {
                    for j in 0..<d {
                        let c = Double(codes[i * d + j])
                        let term = ip ? Double(table[j]) * c : (Double(table[j]) - Double(steps[j]) * c) * (Double(table[j]) - Double(steps[j]) * c)
                        want[i] += term
                        magnitude[i] += abs(term)
                    }
                }
                for portable in [false, true] {
                    let got = SQ8Kernel.values(innerProduct: ip, portable: portable, table: table, steps: steps, codes: codes, dimension: d)
                    for i in 0..<rows {
                        let tolerance = 1e-5 * max(magnitude[i], 1e-30)
                        #expect(
                            abs(Double(got[i]) - want[i]) <= tolerance,
                            "d \(d) ip \(ip) portable \(portable) scale \(scale) row \(i): \(got[i]) against \(want[i])")
                    }
                }
            }
        }
    }

    /// A template with sq8 codes over 16 lists, trained on `base`, and a segment holding `base`
    /// (local ids 0…n−1).
    static func sq8Segment(
        _ base: [Float], dimension d: Int, innerProduct: Bool, seed: Int
    ) throws -> (template: IVFIndex, segment: IVFIndex) {
        let template = try IVFIndex.train(
            innerProduct: innerProduct, dimension: d, nlist: 16, codes: .sq8, spherical: false, vectors: base, iterations: 8,
            seed: seed)
        let segment = try template.emptyClone()
        try base.withUnsafeBufferPointer { try segment.add($0, ids: (0..<Int64(base.count / d)).map { $0 }) }
        return (template, segment)
    }

    /// Quiver's scan of `segment` (labels: the local rows, 0..<rows) at `nprobe`.
    static func scan(
        template: IVFIndex, segment: IVFIndex, queries: [Float], dimension d: Int, innerProduct: Bool, k: Int, nprobe: Int,
        rows: Int, excluded: RowBitmap?
    ) throws -> [[TopKAccumulator.Hit]] {
        let assignment = try template.assign(queries: queries, nprobe: nprobe)
        var accumulator = TopKAccumulator(queries: queries, dimension: d, k: k, innerProduct: innerProduct)
        try segment.scan(
            assignment: assignment, labels: (0..<rows).map { RecordID(UInt64($0)) }, excluded: excluded, locationBase: 0,
            into: &accumulator)
        return accumulator.finish()
    }

    /// Quiver's scan of sq8 lists returns what FAISS's own IVF search of the same index returns:
    /// the same ids, in the same order except among scores equal to rounding, and the same scores.
    @Test(arguments: [7, 32, 129])
    func scanMatchesFAISS(dimension d: Int) throws {
        let data = ClusteredDataset(dimension: d, clusters: 20, seed: UInt64(d))
        let base = data.points(count: 3_000, stream: 0)
        let queries = data.points(count: 40, stream: 1)
        for innerProduct in [false, true] {
            let (template, segment) = try Self.sq8Segment(base, dimension: d, innerProduct: innerProduct, seed: 3)
            let k = 20
            let nprobe = 5
            let ours = try Self.scan(
                template: template, segment: segment, queries: queries, dimension: d, innerProduct: innerProduct, k: k,
                nprobe: nprobe, rows: 3_000, excluded: nil)
            let theirs = try segment.searchFAISS(queries, k: k, nprobe: nprobe)
            for q in 0..<(queries.count / d) {
                #expect(ours[q].count == k)
                for r in 0..<min(k, ours[q].count) {
                    let faissScore = theirs.distances[q * k + r]
                    let tolerance = 1e-4 * max(1, abs(faissScore))
                    #expect(abs(ours[q][r].score - faissScore) <= tolerance, "d \(d) ip \(innerProduct) query \(q) rank \(r)")
                    let faissLabel = theirs.labels[q * k + r]
                    if Int64(ours[q][r].label.rawValue) != faissLabel {
                        // Only a swap of two scores equal to rounding.
                        let theirScoreOfOurs = (0..<k).first { theirs.labels[q * k + $0] == Int64(ours[q][r].label.rawValue) }
                            .map { theirs.distances[q * k + $0] }
                        #expect(theirScoreOfOurs.map { abs($0 - faissScore) <= tolerance } == true, "d \(d) ip \(innerProduct) query \(q) rank \(r)")
                    }
                }
            }
        }
    }

    /// Rows set in `excluded` (deleted, or failing a filter) never come back from an sq8 scan, and
    /// the rest is what FAISS's own search returns over the complementary selector.
    @Test(arguments: [false, true])
    func excludedRowsStayOutOfTheScan(innerProduct: Bool) throws {
        let d = 24
        let data = ClusteredDataset(dimension: d, clusters: 12, seed: 9)
        let base = data.points(count: 2_000, stream: 0)
        let queries = data.points(count: 30, stream: 1)
        let (template, segment) = try Self.sq8Segment(base, dimension: d, innerProduct: innerProduct, seed: 5)
        var random = SeededRandom(seed: 11)
        var excluded = RowBitmap(count: 2_000)
        var selected = RowBitmap(count: 2_000)
        for row in 0..<2_000 {
            if random.next() % 3 == 0 { excluded.insert(row) } else { selected.insert(row) }
        }
        let k = 15
        let nprobe = 6
        let ours = try Self.scan(
            template: template, segment: segment, queries: queries, dimension: d, innerProduct: innerProduct, k: k,
            nprobe: nprobe, rows: 2_000, excluded: excluded)
        let theirs = try segment.searchFAISS(queries, k: k, nprobe: nprobe, selected: selected.words)
        for q in 0..<(queries.count / d) {
            #expect(ours[q].allSatisfy { !excluded.contains(Int($0.label.rawValue)) }, "query \(q) returned an excluded row")
            let want = Set((0..<k).map { theirs.labels[q * k + $0] })
            #expect(ours[q].count == k && !want.contains(-1))
            // The same rows, except where two scores at the k-th place are equal to rounding.
            let last = theirs.distances[q * k + k - 1]
            for hit in ours[q] where !want.contains(Int64(hit.label.rawValue)) {
                #expect(abs(hit.score - last) <= 1e-4 * max(1, abs(last)), "query \(q): row \(hit.label) is not in FAISS's top \(k)")
            }
        }
    }
}
