import QuiverCore
import QuiverIndex
import QuiverTesting
import Testing

/// A measured calibration against the definitions it stands for, recomputed here by brute force
/// from the rows' exact distances (every row of a small segment a sample query).
@Suite struct RecallCalibrationTests {
    @Test func walkTablesFollowTheirDefinition() throws {
        let d = 8
        let rows = 240
        let data = ClusteredDataset(dimension: d, clusters: 6, seed: 11)
        let vectors = data.points(count: rows, stream: 0)
        let template = try IVFIndex.train(
            innerProduct: false, dimension: d, nlist: 8, codes: .flat, spherical: false, vectors: vectors, iterations: 8, seed: 5)
        let index = try template.emptyClone()
        try vectors.withUnsafeBufferPointer { try index.add($0, ids: (0..<Int64(rows)).map { $0 }) }
        let calibration = try #require(
            try vectors.withUnsafeBufferPointer {
                try RecallCalibration.measure(
                    vectors: $0, dimension: d, innerProduct: false, template: template, index: index, flatCodes: true,
                    sampleQueries: rows)
            })
        #expect(calibration.isValid)
        let budgets = try #require(calibration.walkBudgets)
        let tables = try #require(calibration.walkRecall)
        let grid = calibration.nprobes
        let nlist = calibration.nlist
        let lists = try index.rowLists().map(Int.init)
        let order = try template.assign(queries: vectors, nprobe: nlist)
        // found[b][d][g]: neighbours found, summed over the queries, by the brute-force walk.
        var found = budgets.map { _ in calibration.depths.map { _ in [Int](repeating: 0, count: grid.count) } }
        for q in 0..<rows {
            var rank = [Int](repeating: 0, count: nlist)
            for position in 0..<nlist { rank[Int(order.lists[q * nlist + position])] = position }
            func distance(_ row: Int) -> Double {
                (0..<d).reduce(0.0) { sum, i in
                    let delta = Double(vectors[q * d + i]) - Double(vectors[row * d + i])
                    return sum + delta * delta
                }
            }
            let others = (0..<rows).filter { $0 != q }.map { (row: $0, distance: distance($0)) }
            let nearest = others.sorted { $0.distance < $1.distance }
            for (di, depth) in calibration.depths.enumerated() {
                // better[g]: rows not probed at grid[g] lists nearer than the depth-th probed row.
                let better: [Double] = grid.map { nprobe in
                    let probed = others.filter { rank[lists[$0.row]] < nprobe }.map(\.distance).sorted()
                    guard probed.count >= depth else { return .infinity }
                    let kth = probed[depth - 1]
                    return Double(others.filter { rank[lists[$0.row]] >= nprobe && $0.distance < kth }.count)
                }
                for (b, budget) in budgets.enumerated() {
                    for start in grid.indices {
                        var stop = start
                        while stop < grid.count - 1, better[stop] > budget * Double(depth) { stop += 1 }
                        found[b][di][start] += nearest.prefix(depth).filter { rank[lists[$0.row]] < grid[stop] }.count
                    }
                }
            }
        }
        let measured = calibration.depths.last!
        for (b, budget) in budgets.enumerated() {
            for (di, depth) in calibration.depths.enumerated() {
                for g in grid.indices {
                    let table = Double(tables[b][di][g]) / 10_000
                    let plain = Double(calibration.recall[di][g]) / 10_000
                    // The guard only walks on: never below the plain curve.
                    #expect(table >= plain, "budget \(budget) depth \(depth) nprobe \(grid[g])")
                    if Double(depth) * (1 + budget) > Double(measured) {
                        // Beyond the neighbours measured: the plain curve.
                        #expect(table == plain, "budget \(budget) depth \(depth) nprobe \(grid[g])")
                    } else {
                        let expected = Double(found[b][di][g]) / Double(depth * rows)
                        // Tables keep 1/10,000ths, rounded down; float and double distances may
                        // order a near tie differently (a neighbour of one query: 1/(depth × rows)).
                        #expect(abs(table - expected) <= 0.0001 + 1 / Double(depth * rows),
                                "budget \(budget) depth \(depth) nprobe \(grid[g]): \(table) against \(expected)")
                    }
                }
            }
        }
    }
}
