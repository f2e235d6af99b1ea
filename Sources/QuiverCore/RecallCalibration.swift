import Foundation

/// How the recall of one indexed segment grows with the lists probed, at several result depths:
/// what the planner reads to pick nprobe for a target recall, for any k and any filter
/// (docs/filters.md, "Recall you can ask for").
///
/// Measured when the segment is built (`RecallCalibration.measure` in QuiverIndex): a sample of
/// the segment's own vectors is searched exactly over the segment (the query itself left out), and
/// for every exact neighbour the rank of its list in the query's coarse order is noted. The share
/// of a query's `depth` nearest neighbours whose lists rank below `nprobe` is its recall@depth at
/// that nprobe with Flat codes (a list scan is exact within the lists); with SQ8 or PQ codes it is
/// multiplied by the share a scan of every list still ranks correctly (`codeRecall`).
///
/// A filter or a k larger than 10 asks for a deeper point of the same curve: a filter that passes
/// a share f of the rows makes the k nearest passing rows about as hard to find as the k/f nearest
/// rows (for filters independent of where the vectors lie), and a segment holding a share s of the
/// collection contributes about s·k of the k nearest. So one table per segment answers every
/// (k, filter) pair: `SearchPlanner` computes that depth and asks `nprobe(depth:recall:)`.
///
/// A filtered walk (rule 3 of docs/filters.md) walks on past its planned lists where the lists
/// left may still hold hits, which lifts its recall above this curve's; the walk tables
/// (`walkRecall`), measured from the same neighbours, say by how much, so that a walk plans
/// fewer lists for the same target.
///
/// Stored in the segment's manifest record (JSON, about 25 KiB with the walk tables) so that it
/// survives restarts; a compaction or a rebuild measures its output again. Recall values are
/// kept in 1/10,000ths.
public struct RecallCalibration: Sendable, Hashable, Codable {
    /// Sample queries measured.
    public var queries: Int
    /// Result depths measured, ascending, from 1.
    public var depths: [Int]
    /// nprobe values measured, ascending, from 1; the last is the segment's nlist.
    public var nprobes: [Int]
    /// `recall[d][p]`: recall@`depths[d]` probing `nprobes[p]` lists, in 1/10,000ths. Each row is
    /// non-decreasing.
    public var recall: [[Int]]
    /// Miss budgets per hit the walk tables were measured at, ascending (`walkBudgetGrid`);
    /// `nil` in a calibration measured before walks were (the planner then aims a walk by
    /// `recall` alone).
    public var walkBudgets: [Double]?
    /// `walkRecall[b][d][p]`: the recall@`depths[d]` of a walk (docs/filters.md, "Filters that
    /// follow the vectors") that starts its stop checks at `nprobes[p]` lists and stops where
    /// the lists left hold at most `walkBudgets[b] × depths[d]` rows better than its
    /// `depths[d]`-th hit, in 1/10,000ths. At least `recall[d][p]`: the stop rule is a per-query
    /// guard that walks on the queries with the most misses left, so a walk aimed by `recall`
    /// alone overshoots its target.
    public var walkRecall: [[[Int]]]?

    public init(
        queries: Int, depths: [Int], nprobes: [Int], recall: [[Int]], walkBudgets: [Double]? = nil, walkRecall: [[[Int]]]? = nil
    ) {
        self.queries = queries
        self.depths = depths
        self.nprobes = nprobes
        self.recall = recall
        self.walkBudgets = walkBudgets
        self.walkRecall = walkRecall
    }

    /// Miss budgets per hit the walk tables are measured at: `walkMissMargin × (1 − recall)` for
    /// targets from 0.99 (0.03) to below 0.5; a budget between two is interpolated in log(budget).
    public static let walkBudgetGrid: [Double] = [0.03, 0.1, 0.3, 1, 3]

    /// Depths a calibration measures (those below the segment's row count): deep enough for
    /// k = 1,000 unfiltered; beyond the last one the planner extrapolates (`nprobe(depth:recall:)`).
    public static let depthGrid = [1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000]

    /// nprobe values a calibration measures for `nlist` lists: every value to 16, then steps of
    /// about 19% (four per doubling), and nlist.
    public static func nprobeGrid(nlist: Int) -> [Int] {
        var grid: [Int] = []
        var p = 1
        while p < nlist {
            grid.append(p)
            p = p < 16 ? p + 1 : max(p + 1, Int((Double(p) * 1.189207).rounded(.up)))
        }
        grid.append(nlist)
        return grid
    }

    public var nlist: Int { nprobes.last ?? 1 }

    /// Whether the table's shape is consistent (a record read back from the manifest is checked
    /// before the planner trusts it).
    public var isValid: Bool {
        guard queries > 0, !depths.isEmpty, !nprobes.isEmpty, recall.count == depths.count, depths.first! >= 1, nprobes.first! >= 1
        else { return false }
        guard zip(depths, depths.dropFirst()).allSatisfy({ $0 < $1 }), zip(nprobes, nprobes.dropFirst()).allSatisfy({ $0 < $1 }) else {
            return false
        }
        func isCurve(_ table: [[Int]]) -> Bool {
            table.count == depths.count
                && table.allSatisfy { row in
                    row.count == nprobes.count && row.allSatisfy { (0...10_000).contains($0) }
                        && zip(row, row.dropFirst()).allSatisfy { $0 <= $1 }
                }
        }
        guard isCurve(recall) else { return false }
        switch (walkBudgets, walkRecall) {
        case (nil, nil):
            return true
        case (let budgets?, let tables?):
            return !budgets.isEmpty && budgets.count == tables.count && budgets.allSatisfy { $0 > 0 && $0.isFinite }
                && zip(budgets, budgets.dropFirst()).allSatisfy { $0 < $1 } && tables.allSatisfy(isCurve)
        default:
            return false
        }
    }

    /// The expected recall@`depth` probing `nprobe` lists: interpolated linearly in log(nprobe)
    /// between measured nprobes and in log(depth) between measured depths. Below the first depth
    /// the first row answers; beyond the last depth D, a depth d answers as D would with nprobe
    /// scaled by D/d (lists needed grow at most linearly with the depth, so this errs low).
    public func recall(depth: Double, nprobe: Int) -> Double { interpolate(recall, depth: depth, nprobe: nprobe) }

    /// The fewest lists whose expected recall@`depth` reaches `target`; nlist when none does.
    public func nprobe(depth: Double, recall target: Double) -> Int {
        fewest(target) { recall(depth: depth, nprobe: $0) }
    }

    /// The expected recall@`depth` of a walk that starts its stop checks at `nprobe` lists with
    /// a miss budget of `budget` per hit (see `walkRecall`), interpolated in log(budget) between
    /// measured budgets and held at the first and last; `recall(depth:nprobe:)` without tables.
    /// `lift` is the share of the walk's gain over the plain curve that is counted (1: all).
    public func walkRecall(depth: Double, nprobe: Int, budget: Double, lift: Double = 1) -> Double {
        let plain = recall(depth: depth, nprobe: nprobe)
        guard let budgets = walkBudgets, let tables = walkRecall else { return plain }
        let budget = min(max(budget, budgets.first!), budgets.last!)
        let upper = budgets.firstIndex { $0 >= budget }!
        var walk = interpolate(tables[upper], depth: depth, nprobe: nprobe)
        if upper > 0, budgets[upper] != budget {
            let below = interpolate(tables[upper - 1], depth: depth, nprobe: nprobe)
            let t = (log(budget) - log(budgets[upper - 1])) / (log(budgets[upper]) - log(budgets[upper - 1]))
            walk = (1 - t) * below + t * walk
        }
        return plain + lift * (walk - plain)
    }

    /// The fewest lists at which a walk with `budget` per hit is expected to reach `target`
    /// recall@`depth` (counting `lift` of its gain, as `walkRecall(depth:nprobe:budget:lift:)`);
    /// nlist when none does.
    public func walkNprobe(depth: Double, recall target: Double, budget: Double, lift: Double = 1) -> Int {
        fewest(target) { walkRecall(depth: depth, nprobe: $0, budget: budget, lift: lift) }
    }

    /// The least nprobe in 1...nlist at which `curve` (non-decreasing) reaches `target`.
    private func fewest(_ target: Double, _ curve: (Int) -> Double) -> Int {
        var low = 1
        var high = nlist
        guard curve(high) >= target else { return nlist }
        while low < high {
            let mid = (low + high) / 2
            if curve(mid) >= target { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// `table` (depth × nprobe, like `recall`) at a depth and nprobe: linear in log(nprobe)
    /// between measured nprobes and in log(depth) between measured depths; beyond the last depth
    /// D, a depth d answers as D would with nprobe scaled by D/d.
    private func interpolate(_ table: [[Int]], depth: Double, nprobe: Int) -> Double {
        let nprobe = min(max(nprobe, 1), nlist)
        let last = Double(depths.last!)
        if depth > last {
            let scaled = Double(nprobe) * last / depth
            return rowRecall(table[depths.count - 1], nprobe: max(1, scaled))
        }
        let depth = max(depth, Double(depths.first!))
        let upper = depths.firstIndex { Double($0) >= depth }!
        guard upper > 0, Double(depths[upper]) != depth else { return rowRecall(table[upper], nprobe: Double(nprobe)) }
        let lower = upper - 1
        let t = (log(depth) - log(Double(depths[lower]))) / (log(Double(depths[upper])) - log(Double(depths[lower])))
        return (1 - t) * rowRecall(table[lower], nprobe: Double(nprobe)) + t * rowRecall(table[upper], nprobe: Double(nprobe))
    }

    /// A row of a table at a fractional nprobe, interpolated in log(nprobe).
    private func rowRecall(_ row: [Int], nprobe: Double) -> Double {
        guard let upper = nprobes.firstIndex(where: { Double($0) >= nprobe }) else { return Double(row.last!) / 10_000 }
        guard upper > 0, Double(nprobes[upper]) != nprobe else { return Double(row[upper]) / 10_000 }
        let lower = upper - 1
        let t = (log(nprobe) - log(Double(nprobes[lower]))) / (log(Double(nprobes[upper])) - log(Double(nprobes[lower])))
        return ((1 - t) * Double(row[lower]) + t * Double(row[upper])) / 10_000
    }
}
