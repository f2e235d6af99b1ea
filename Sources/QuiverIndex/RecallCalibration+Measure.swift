import CFaissShim
import QuiverCore

extension RecallCalibration {
    /// Sample queries a calibration measures by default: enough that recall@10 is known to about
    /// ±0.005; costs about 0.5 s for 131,072 × 128 on one core.
    public static let sampleQueriesDefault = 500

    /// Measures a segment's calibration (see the type's description).
    ///
    /// - Parameters:
    ///   - vectors: the segment's vectors, row-major, local row order (as `index` holds them).
    ///   - template: the segment's template, whose coarse quantizer orders the lists per query.
    ///   - index: the segment's lists (filled from `vectors`).
    ///   - flatCodes: `false` for SQ8 and PQ, whose scans are measured as well.
    ///   - shouldStop: polled between chunks of 64 queries; `true` abandons the measurement.
    /// - Returns: `nil` for fewer than two rows (no neighbour to find).
    /// - Throws: `QuiverError.closed` when `shouldStop` said so.
    public static func measure(
        vectors: UnsafeBufferPointer<Float>, dimension: Int, innerProduct: Bool, template: IVFIndex, index: IVFIndex,
        flatCodes: Bool, sampleQueries: Int = sampleQueriesDefault, shouldStop: () -> Bool = { false }
    ) throws(QuiverError) -> RecallCalibration? {
        let rows = vectors.count / dimension
        guard rows >= 2, sampleQueries > 0 else { return nil }
        let nlist = index.nlist
        let depths = depthGrid.filter { $0 < rows }
        let depthMax = depths.last!
        let count = min(sampleQueries, rows)
        let step = rows / count
        let sample = (0..<count).map { $0 * step }
        let rowLists = try index.rowLists()
        let labels = (0..<UInt64(rows)).map { $0 }
        // Per depth: how many neighbours' lists have each rank; and, for SQ8/PQ, how many
        // neighbours a scan of every list returns at that depth.
        var histogram = [[Int]](repeating: [Int](repeating: 0, count: nlist), count: depths.count)
        var neighbours = [Int](repeating: 0, count: depths.count)
        var scannedFound = [Int](repeating: 0, count: depths.count)
        var rank = [Int](repeating: 0, count: nlist)
        let grid = nprobeGrid(nlist: nlist)
        let budgets = walkBudgetGrid
        // Per budget, depth and nprobe (flat, in that order): neighbours a walk from that nprobe
        // finds (`walkRecall`).
        var walkFound = [Int64](repeating: 0, count: budgets.count * depths.count * grid.count)
        let depthsC = depths.map { Int32($0) }
        let gridC = grid.map { Int32($0) }
        // Chunks bound the coarse order's memory (queries × nlist) for large nlist.
        for start in stride(from: 0, to: count, by: 64) {
            if shouldStop() { throw QuiverError.closed }
            let chunk = sample[start..<min(count, start + 64)]
            var queries: [Float] = []
            queries.reserveCapacity(chunk.count * dimension)
            for row in chunk { queries += vectors[(row * dimension)..<((row + 1) * dimension)] }
            var exact = TopKAccumulator(queries: queries, dimension: dimension, k: depthMax + 1, innerProduct: innerProduct)
            try labels.withUnsafeBufferPointer { (labels) throws(QuiverError) in
                try exact.withHeaps("calibration exact scan") { heaps, message, messageCapacity in
                    quiver_topk_scan(
                        heaps.metric, heaps.dimension, heaps.queries, heaps.queryCount, vectors.baseAddress, Int64(rows),
                        labels.baseAddress, 0, nil, heaps.k, heaps.keys, heaps.labels, heaps.locations, heaps.sizes, message,
                        messageCapacity)
                }
            }
            let truth = zip(chunk, exact.finish()).map { row, hits in Array(hits.lazy.map { Int($0.location) }.filter { $0 != row }.prefix(depthMax)) }
            let order = try template.assign(queries: queries, nprobe: nlist)
            for (q, found) in truth.enumerated() {
                for position in 0..<nlist {
                    let list = order.lists[q * nlist + position]
                    if list >= 0 { rank[Int(list)] = position }
                }
                for (d, depth) in depths.enumerated() {
                    for row in found.prefix(depth) { histogram[d][rank[Int(rowLists[row])]] += 1 }
                    neighbours[d] += min(depth, found.count)
                }
                let neighbourRanks = found.map { Int32(rank[Int(rowLists[$0])]) }
                quiver_calibration_walks(
                    neighbourRanks, Int64(neighbourRanks.count), depthsC, Int64(depths.count), gridC, Int64(grid.count), budgets,
                    Int64(budgets.count), &walkFound)
            }
            guard !flatCodes else { continue }
            var scanned = TopKAccumulator(queries: queries, dimension: dimension, k: depthMax + 1, innerProduct: innerProduct)
            try index.scan(
                assignment: order, labels: labels.map { RecordID($0) }, excluded: nil, locationBase: 0, into: &scanned)
            for ((row, hits), want) in zip(zip(chunk, scanned.finish()), truth) {
                let got = hits.lazy.map { Int($0.location) }.filter { $0 != row }
                for (d, depth) in depths.enumerated() {
                    let wanted = Set(want.prefix(depth))
                    scannedFound[d] += got.prefix(depth).filter { wanted.contains($0) }.count
                }
            }
        }
        // What the codes keep: 1 for Flat, whose scans are exact within the lists.
        let kept = depths.indices.map { d in flatCodes ? 1 : Double(scannedFound[d]) / Double(max(1, neighbours[d])) }
        let table: [[Int]] = depths.indices.map { d in
            let total = Double(max(1, neighbours[d]))
            var cumulative = [Int](repeating: 0, count: nlist + 1)
            for r in 0..<nlist { cumulative[r + 1] = cumulative[r] + histogram[d][r] }
            return grid.map { p in Int((Double(cumulative[p]) / total * kept[d] * 10_000).rounded(.down)) }
        }
        // A walk's stop at depth D with budget b looks at the neighbours up to its D-th hit plus
        // b × D: where the neighbours measured end before that (and are not the whole segment),
        // the table keeps the curve without the walk, which errs low.
        let measured = min(depthMax, rows - 1)
        let walkTables = budgets.indices.map { b in
            depths.indices.map { d in
                guard measured == rows - 1 || Double(depths[d]) * (1 + budgets[b]) <= Double(measured) else { return table[d] }
                let start = (b * depths.count + d) * grid.count
                return walkFound[start..<(start + grid.count)].map {
                    Int((Double($0) / Double(max(1, neighbours[d])) * kept[d] * 10_000).rounded(.down))
                }
            }
        }
        return RecallCalibration(
            queries: count, depths: depths, nprobes: grid, recall: table, walkBudgets: budgets, walkRecall: walkTables)
    }
}
