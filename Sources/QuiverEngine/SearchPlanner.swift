import QuiverCore
import QuiverFilter
import QuiverIndex

/// Chooses, per segment of a view, how a search scans it, and runs the scans.
///
/// With a filter, every segment's passing rows are computed first (the filter's row set minus the
/// tombstones: `SegmentState.passing`). Then, per segment:
/// - none pass: skipped;
/// - a growing or sealed segment: its passing rows read one by one (`exactRows`) when at most
///   `exactRowsShareMax` of its rows pass, else one sequential pass that skips the others (`exact`);
/// - an indexed segment: the cost of reading the passing rows one by one (`gatherCost` per row)
///   against the cost of an IVF scan (the rows in the probed lists), with nprobe raised until the
///   probed lists are expected to hold `passingPerHitMin × k` passing rows. The cheaper wins.
/// (The constants are `PlannerSettings`; the rules are `choose`, a pure function of what is known
/// of each segment, with its cases in `Tests/QuiverEngineTests/testdata/plan.txt`.)
/// Segments of one template generation share one coarse assignment, so they probe the largest
/// nprobe any of them needs.
///
/// A query for which the IVF lists held fewer than k passing rows, while k exist, is searched
/// again exactly over every segment's passing rows: k hits come back whenever k rows pass.
/// docs/filters.md ("The planner") has the measurements behind the constants.
struct SearchPlanner {
    struct SegmentScan: Sendable {
        var strategy: SearchPlan.Strategy
        /// `exactRows`: the rows, ascending.
        var rows: [Int64] = []
        /// `exact` and `ivf`: rows to skip (tombstones, and rows that fail the filter).
        var excluded: RowBitmap?
        var passing: Int
    }

    struct Plan: Sendable {
        var scans: [SegmentScan]
        /// nprobe per template generation in use.
        var nprobes: [UInt32: Int]
        var passing: Int
        var filterMicroseconds: Int
        /// Floats the scan reads per query (every scanned row, each generation's centroids).
        var floatsPerQuery: Int
    }

    /// What the planner knows of one segment when it chooses how to scan it: everything
    /// `choose` decides from (the data-driven cases of `testdata/plan.txt` are lists of these).
    struct SegmentFacts: Hashable, Sendable {
        enum Storage: Hashable, Sendable {
            /// A growing or sealed segment: vectors in memory, searched exactly.
            case exact
            /// IVF lists of the template generation `generation`, with `nlist` lists.
            case indexed(nlist: Int, generation: UInt32)
        }

        var storage: Storage
        /// Published rows, deleted ones included.
        var rows: Int
        var live: Int
        /// Live rows that pass the filter; `nil` without a filter.
        var passing: Int?
    }

    /// How one segment is scanned; `nprobe` for `ivf` (shared by its generation).
    struct Choice: Hashable, Sendable {
        var strategy: SearchPlan.Strategy
        var nprobe: Int?
    }

    let view: CollectionView
    let k: Int
    let requestedNprobe: Int?
    let settings: PlannerSettings

    /// The strategy (and nprobe) of every segment, from what is known of each (see the type's
    /// description for the rules). A pure function of its arguments.
    static func choose(
        _ segments: [SegmentFacts], k: Int, requestedNprobe: Int?, collectionNprobe: Int?, settings: PlannerSettings
    ) -> [Choice] {
        func baseNprobe(nlist: Int) -> Int { min(nlist, requestedNprobe ?? collectionNprobe ?? IndexSettings.nprobeDefault(nlist: nlist)) }
        var strategies: [SearchPlan.Strategy] = []
        var nprobes: [UInt32: Int] = [:]
        for segment in segments {
            let passing = segment.passing ?? segment.live
            guard passing > 0 else {
                strategies.append(.skipped)
                continue
            }
            switch segment.storage {
            case .exact:
                if segment.passing != nil, Double(passing) <= settings.exactRowsShareMax * Double(segment.rows) {
                    strategies.append(.exactRows)
                } else {
                    strategies.append(.exact)
                }
            case .indexed(let nlist, let generation):
                let base = baseNprobe(nlist: nlist)
                guard segment.passing != nil else {
                    strategies.append(.ivf)
                    nprobes[generation] = max(nprobes[generation] ?? 0, base)
                    continue
                }
                // Lists needed to expect enough passing rows, if the filter is independent of
                // where the vectors lie.
                let wanted = (settings.passingPerHitMin * k * nlist + passing - 1) / passing
                let nprobe = min(nlist, max(base, wanted))
                let ivfCost = Double(segment.rows) * Double(nprobe) / Double(nlist)
                if Double(passing) * settings.gatherCost <= ivfCost {
                    strategies.append(.exactRows)
                } else {
                    strategies.append(.ivf)
                    nprobes[generation] = max(nprobes[generation] ?? 0, nprobe)
                }
            }
        }
        return zip(segments, strategies).map { segment, strategy in
            guard strategy == .ivf, case .indexed(_, let generation) = segment.storage else { return Choice(strategy: strategy) }
            return Choice(strategy: strategy, nprobe: nprobes[generation])
        }
    }

    func nlist(of rows: IndexedRows) throws(QuiverError) -> Int {
        guard let template = view.templates[rows.generation] else {
            throw QuiverError(.internal, .internalFailure, "collection \"\(view.stored.schema.name)\": no template for generation \(rows.generation)")
        }
        return template.record.nlist
    }

    func plan(filter: Filter?) throws(QuiverError) -> Plan {
        let dimension = view.stored.schema.dimension
        let started = ContinuousClock.now
        let passingSets: [RowBitmap?] = view.segments.map { segment in
            guard let filter, segment.liveCount > 0 else { return nil }
            return segment.passing(filter)
        }
        let filterMicroseconds = filter == nil ? 0 : Int((ContinuousClock.now - started).milliseconds * 1000)
        var facts: [SegmentFacts] = []
        for (segment, passingSet) in zip(view.segments, passingSets) {
            let storage: SegmentFacts.Storage =
                switch segment.storage {
                case .exact: .exact
                case .indexed(let rows): .indexed(nlist: try nlist(of: rows), generation: rows.generation)
                }
            facts.append(
                SegmentFacts(
                    storage: storage, rows: segment.count, live: segment.liveCount,
                    passing: filter == nil ? nil : passingSet?.cardinality ?? 0))
        }
        let choices = Self.choose(
            facts, k: k, requestedNprobe: requestedNprobe, collectionNprobe: view.stored.schema.index.nprobe, settings: settings)
        var scans: [SegmentScan] = []
        var nprobes: [UInt32: Int] = [:]
        var floats = 0
        for ((segment, passingSet), (fact, choice)) in zip(zip(view.segments, passingSets), zip(facts, choices)) {
            let passing = fact.passing ?? fact.live
            switch choice.strategy {
            case .skipped:
                scans.append(SegmentScan(strategy: .skipped, passing: 0))
            case .exactRows:
                scans.append(SegmentScan(strategy: .exactRows, rows: passingSet?.rows ?? [], passing: passing))
                floats += passing * dimension
            case .exact, .ivf:
                let excluded = passingSet.map { $0.complemented() } ?? segment.tombstones
                scans.append(SegmentScan(strategy: choice.strategy, excluded: excluded, passing: passing))
                if case .indexed(let nlist, let generation) = fact.storage, let nprobe = choice.nprobe {
                    nprobes[generation] = nprobe
                    floats += (segment.count * nprobe + nlist - 1) / nlist * dimension
                } else {
                    floats += segment.count * dimension
                }
            }
        }
        for generation in nprobes.keys { floats += (view.templates[generation]?.record.nlist ?? 0) * dimension }
        return Plan(scans: scans, nprobes: nprobes, passing: facts.reduce(0) { $0 + ($1.passing ?? $1.live) }, filterMicroseconds: filterMicroseconds, floatsPerQuery: floats)
    }

    /// Runs the plan for a slice of the queries; also returns how many were searched again
    /// exactly because their lists held too few passing rows.
    func execute(_ plan: Plan, queries: [Float]) throws(QuiverError) -> (hits: [[TopKAccumulator.Hit]], exactRetries: Int) {
        let schema = view.stored.schema
        var accumulator = TopKAccumulator(queries: queries, dimension: schema.dimension, k: k, innerProduct: schema.metric != .l2)
        var assignments: [UInt32: IVFAssignment] = [:]
        for (generation, nprobe) in plan.nprobes {
            assignments[generation] = try view.templates[generation]!.index.assign(queries: queries, nprobe: nprobe)
        }
        for (position, segment) in view.segments.enumerated() {
            let scan = plan.scans[position]
            let base = ViewLocation.base(ofPosition: position)
            switch (scan.strategy, segment.storage) {
            case (.skipped, _):
                continue
            case (.exactRows, .exact(let block, _)):
                try block.scanRows(scan.rows, locationBase: base, into: &accumulator)
            case (.exactRows, .indexed(let rows)):
                try rows.index.scanRows(scan.rows, labels: rows.labels, locationBase: base, into: &accumulator)
            case (_, .exact(let block, _)):
                try block.scan(count: segment.count, excluded: scan.excluded, locationBase: base, into: &accumulator)
            case (_, .indexed(let rows)):
                try rows.index.scan(
                    assignment: assignments[rows.generation]!, labels: rows.labels, excluded: scan.excluded, locationBase: base,
                    into: &accumulator)
            }
        }
        var hits = accumulator.finish()
        // Queries the lists left short: again over every segment's passing rows, exactly.
        let wanted = min(k, plan.passing)
        let short = hits.indices.filter { hits[$0].count < wanted }
        guard !short.isEmpty else { return (hits, 0) }
        var exactPlan = plan
        for (position, segment) in view.segments.enumerated() where plan.scans[position].strategy == .ivf {
            let excluded = plan.scans[position].excluded
            exactPlan.scans[position].strategy = .exactRows
            exactPlan.scans[position].rows = (0..<Int64(segment.count)).filter { !(excluded?.contains(Int($0)) ?? false) }
        }
        exactPlan.nprobes = [:]
        let dimension = schema.dimension
        for q in short {
            let query = Array(queries[(q * dimension)..<((q + 1) * dimension)])
            hits[q] = try execute(exactPlan, queries: query).hits[0]
        }
        return (hits, short.count)
    }

    /// The per-segment report of a plan, for `explain`.
    func report(_ plan: Plan, filter: Filter?, exactRetries: Int) -> SearchPlan {
        let segments = zip(view.segments, plan.scans).map { segment, scan in
            var nlist: Int?
            var nprobe: Int?
            if case .indexed(let rows) = segment.storage {
                nlist = rows.index.nlist
                if scan.strategy == .ivf { nprobe = plan.nprobes[rows.generation] }
            }
            return SearchPlan.Segment(
                id: segment.id, phase: segment.phase, liveRows: segment.liveCount, passingRows: scan.passing,
                strategy: scan.strategy, nprobe: nprobe, nlist: nlist)
        }
        return SearchPlan(
            filter: filter?.description, segments: segments, exactRetries: exactRetries, filterMicroseconds: plan.filterMicroseconds)
    }
}
