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
///   against the cost of an IVF scan (the rows in the probed lists). The cheaper wins.
///
/// How many lists an indexed segment probes (`Probing`): the recall the search asks for — a target
/// recall@k, or the recall an unfiltered k ≤ 10 search gets at the nprobe given — at the depth the
/// segment must be searched to: a segment holding `live` of the collection's rows, under a filter
/// that `passing` rows pass in all, holds about k·live/passing of the k nearest passing rows' worth
/// of unfiltered neighbours (`depth`). The segment's calibration (`RecallCalibration`) says how many
/// lists reach that recall at that depth. So the lists probed grow with k and with the filter's
/// selectivity, and a filtered search keeps the recall an unfiltered one has at the same setting.
/// Segments without a calibration (written before calibrations existed) probe the nprobe given,
/// raised until the probed lists are expected to hold `passingPerHitMin × k` passing rows.
/// (The constants are `PlannerSettings`; the rules are `choose`, a pure function of what is known
/// of each segment, with its cases in `Tests/QuiverEngineTests/testdata/plan.txt`.)
/// Segments of one template generation share one coarse assignment, computed for the largest
/// nprobe any of them probes; each scans its own prefix of it.
///
/// A query for which the IVF lists held fewer than k passing rows, while k exist, is searched
/// again exactly over every segment's passing rows: k hits come back whenever k rows pass.
/// docs/filters.md ("The planner", "Recall you can ask for") has the measurements behind this.
struct SearchPlanner {
    struct SegmentScan: Sendable {
        var strategy: SearchPlan.Strategy
        /// `exactRows`: the rows, ascending.
        var rows: [Int64] = []
        /// `exact` and `ivf`: rows to skip (tombstones, and rows that fail the filter).
        var excluded: RowBitmap?
        var passing: Int
        /// `ivf`: lists probed.
        var nprobe: Int?
        /// `ivf` with a calibration: the recall@depth it expects.
        var expectedRecall: Double?
        /// `ivf` under a filter with a calibration: how each query walks its lists.
        var walk: Walk?
        /// `ivf`: the share of queries that probe one list fewer than `nprobe`.
        var fewerShare: Double = 0
    }

    struct Plan: Sendable {
        var scans: [SegmentScan]
        /// nprobe of the coarse assignment per template generation in use (the largest of its segments').
        var nprobes: [UInt32: Int]
        var passing: Int
        var filterMicroseconds: Int
        /// Floats the scan reads per query (every scanned row, each generation's centroids).
        var floatsPerQuery: Int
        var probing: Probing
    }

    /// What a search asks of the probing of indexed segments.
    enum Probing: Hashable, Sendable {
        /// nprobe given (by the request, or as the collection's default; `nil`: each segment's
        /// `IndexSettings.nprobeDefault(nlist:)`): at least that many lists, and more where k or
        /// the filter need them to keep the recall an unfiltered search with k ≤ 10 has at that
        /// nprobe.
        case nprobe(Int?)
        /// The fewest lists whose expected recall@k reaches this.
        case recall(Double)

        var givenNprobe: Int? {
            if case .nprobe(let value) = self { value } else { nil }
        }

        /// A request's nprobe wins over its target recall; then the collection's nprobe, then its
        /// target recall, then `IndexSettings.recallTargetDefault`.
        static func resolve(requestedNprobe: Int?, requestedRecall: Double?, collection: IndexSettings) -> Probing {
            if let requestedNprobe { return .nprobe(requestedNprobe) }
            if let requestedRecall { return .recall(requestedRecall) }
            if let nprobe = collection.nprobe { return .nprobe(nprobe) }
            return .recall(collection.recallTarget ?? IndexSettings.recallTargetDefault)
        }
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
        /// Indexed segments: how recall grows with nprobe; `nil` when unknown.
        var calibration: RecallCalibration?
    }

    /// How one segment is scanned; `nprobe` for `ivf`.
    struct Choice: Hashable, Sendable {
        var strategy: SearchPlan.Strategy
        var nprobe: Int?
        /// `ivf` with a calibration: the recall@depth expected at `nprobe`.
        var expectedRecall: Double?
        /// `ivf` under a filter with a calibration: each query probes its lists, nearest first,
        /// until they hold as many passing rows as `nprobe` lists hold on average.
        var walk: Walk?
        /// `ivf` with a calibration: the share of queries that probe `nprobe − 1` lists (a walk:
        /// aim one list lower).
        var fewerShare: Double = 0
        /// `ivf`: the lists whose rows the choice against `exact-rows` counts as its cost. A walk
        /// plans fewer lists than it reads (its stop rule walks on), so it counts the lists the
        /// recall needs without that rule; `nil`: `nprobe`.
        var costNprobe: Int?
    }

    /// A filtered scan's lists per query, walked nearest first over all of the segment's lists:
    /// at least `listsMin` (what the recall needs without the filter, for a query whose nearest
    /// lists are full of passing rows), and lists that hold as many passing rows as the query's
    /// first `listsPlanned` lists would if the filter passed `share` of every list; then on
    /// until the lists left are expected to hold at most `missBudget` passing rows better than
    /// the query's k-th hit (the model is in `ivf_walk.cpp`). With a filter that is independent
    /// of where vectors lie the first two rules stop it near `listsPlanned`; with one that follows
    /// the clusters, a query whose own neighbourhood fails the filter finds its nearest passing
    /// rows far down its list order, among many lists at about the same distance, and the third
    /// rule takes it as far as they reach. (The rows counted are those of the query's own lists,
    /// not average lists: lists near a query are often larger than average, and a walk by an
    /// average count stopped early there and lost recall.)
    struct Walk: Hashable, Sendable {
        var listsMin: Int
        var listsPlanned: Int
        /// Passing rows over published rows of the segment.
        var share: Double
        var missBudget: Double
        /// The segment's expected share of the k hits: its walk measures the lists left against
        /// its ⌈hits⌉-th hit, about where the final k-th will be.
        var hits: Double
    }

    let view: CollectionView
    let k: Int
    let probing: Probing
    let settings: PlannerSettings

    /// Depth of the reference search for `Probing.nprobe`: an unfiltered search with k ≤ 10,
    /// for which nprobe values are usually tuned.
    static let referenceK = 10

    /// The strategy (and nprobe) of every segment, from what is known of each (see the type's
    /// description for the rules). A pure function of its arguments.
    static func choose(_ segments: [SegmentFacts], k: Int, probing: Probing, settings: PlannerSettings) -> [Choice] {
        let liveTotal = segments.reduce(0) { $0 + $1.live }
        let passingTotal = segments.reduce(0) { $0 + ($1.passing ?? $1.live) }
        // Lists for an indexed segment at a recall target (or the given nprobe's recall).
        func probe(_ segment: SegmentFacts, nlist: Int, target: Double?) -> Choice {
            let passing = segment.passing ?? segment.live
            if settings.nprobeFixed, case .nprobe(let given) = probing {
                return Choice(strategy: .ivf, nprobe: min(nlist, given ?? IndexSettings.nprobeDefault(nlist: nlist)))
            }
            guard let calibration = segment.calibration else {
                let base = min(nlist, probing.givenNprobe ?? IndexSettings.nprobeDefault(nlist: nlist))
                guard segment.passing != nil else { return Choice(strategy: .ivf, nprobe: base) }
                // Lists needed to expect enough passing rows, if the filter is independent of
                // where the vectors lie.
                let wanted = (settings.passingPerHitMin * k * nlist + passing - 1) / passing
                return Choice(strategy: .ivf, nprobe: min(nlist, max(base, wanted)))
            }
            // The recall to reach: the target, or the recall the given nprobe has for an
            // unfiltered k ≤ 10.
            let wanted: Double
            var given = 0
            switch probing {
            case .nprobe(let value):
                given = min(value ?? IndexSettings.nprobeDefault(nlist: nlist), nlist)
                let referenceDepth = max(1, Double(min(k, referenceK)) * Double(segment.live) / Double(liveTotal))
                wanted = calibration.recall(depth: referenceDepth, nprobe: given)
            case .recall:
                wanted = target!
            }
            let depth = max(1, Double(k) * Double(segment.live) / Double(passingTotal))
            // The lists the plain curve asks for at `depth`.
            let plainLists = min(nlist, max(given, calibration.nprobe(depth: depth, recall: wanted)))
            // A sample cannot promise every neighbour of every query: a target of 1 probes every
            // list, and scans rather than walks.
            let walking =
                segment.passing != nil && passing < segment.live && !(given == 0 && wanted >= 1) && plainLists < nlist
            // The recall expected at `depth` probing n lists: for a walk, with what its stop rule
            // adds (the miss budget per hit `walkMissMargin × (1 − wanted)`; the walk tables
            // measured what that per-query guard adds, and the lists count on `walkLift` of it).
            let budget = settings.walkMissMargin * max(0, 1 - wanted)
            func expected(at depth: Double, _ n: Int) -> Double {
                guard walking else { return calibration.recall(depth: depth, nprobe: n) }
                return calibration.walkRecall(depth: depth, nprobe: n, budget: budget, lift: settings.walkLift)
            }
            // The fewest lists that reach it at `depth`.
            func lists(at depth: Double) -> Int {
                if given == 0, wanted >= 1 { return nlist }
                let fewest =
                    walking
                    ? calibration.walkNprobe(depth: depth, recall: wanted, budget: budget, lift: settings.walkLift)
                    : calibration.nprobe(depth: depth, recall: wanted)
                return max(given, fewest)
            }
            // Never lists expected to hold fewer than twice the rows searched for: a large k at a
            // small nprobe otherwise left most queries short of k hits and searched them again
            // exactly (k = 1,000 at nprobe 1 over 200,000 rows: 9 QPS).
            // A walk needs no such floor: it goes on until it holds k hits.
            let calibrated = min(nlist, lists(at: depth))
            let rowsEnough =
                walking ? 0 : Int((2 * depth * Double(nlist) / Double(max(1, segment.live))).rounded(.up))
            let nprobe = min(nlist, max(calibrated, rowsEnough))
            var walk: Walk?
            if walking {
                // The lists the same recall needs where every row passes.
                let listsMin = lists(at: max(1, Double(k) * Double(segment.live) / Double(liveTotal)))
                // The segment's share of the hits the recall may miss, with a margin for the
                // estimate's rough model (`walkMissMargin`).
                let hits = Double(min(k, passingTotal)) * Double(passing) / Double(max(1, passingTotal))
                walk = Walk(
                    listsMin: min(listsMin, nprobe), listsPlanned: nprobe, share: Double(passing) / Double(segment.rows),
                    missBudget: budget * hits, hits: hits)
            }
            var recall = expected(at: depth, nprobe)
            var fewer = 0.0
            if nprobe > max(given, rowsEnough, 1), nprobe < nlist {
                // A whole list more can overshoot the recall wanted by far (20,000 rows, k = 10:
                // 0.83 at one list, 0.96 at two): a share of the queries probes one list fewer
                // (a walk: aims one list lower), so that the expected recall over queries is what
                // was asked.
                let below = expected(at: depth, nprobe - 1)
                if recall > below, wanted < recall {
                    fewer = min(1, max(0, (recall - wanted) / (recall - below)))
                    recall = fewer * below + (1 - fewer) * recall
                }
            }
            let cost = walking ? max(nprobe, plainLists) : nil
            return Choice(strategy: .ivf, nprobe: nprobe, expectedRecall: recall, walk: walk, fewerShare: fewer, costNprobe: cost)
        }
        func choice(_ segment: SegmentFacts, target: Double?) -> Choice {
            let passing = segment.passing ?? segment.live
            guard passing > 0 else { return Choice(strategy: .skipped) }
            switch segment.storage {
            case .exact:
                if segment.passing != nil, Double(passing) <= settings.exactRowsShareMax * Double(segment.rows) {
                    return Choice(strategy: .exactRows)
                }
                return Choice(strategy: .exact)
            case .indexed(let nlist, _):
                let ivf = probe(segment, nlist: nlist, target: target)
                guard segment.passing != nil else { return ivf }
                let ivfCost = Double(segment.rows) * Double(ivf.costNprobe ?? ivf.nprobe!) / Double(nlist)
                return Double(passing) * settings.gatherCost <= ivfCost ? Choice(strategy: .exactRows) : ivf
            }
        }
        guard case .recall(let target) = probing else { return segments.map { choice($0, target: nil) } }
        var choices = segments.map { choice($0, target: target) }
        // The rows searched exactly find all of their share of the k nearest, so the calibrated
        // IVF scans need less than the target for the whole to reach it: (target − e) / (1 − e)
        // where e is the exact share.
        let exactPassing = zip(segments, choices).reduce(0) { sum, pair in
            pair.1.strategy == .exact || pair.1.strategy == .exactRows ? sum + (pair.0.passing ?? pair.0.live) : sum
        }
        let exactShare = passingTotal == 0 ? 0 : Double(exactPassing) / Double(passingTotal)
        guard exactShare > 0, exactShare < 1 else { return choices }
        let lowered = max(0, (target - exactShare) / (1 - exactShare))
        for (i, segment) in segments.enumerated() where choices[i].strategy == .ivf && segment.calibration != nil {
            guard case .indexed(let nlist, _) = segment.storage else { continue }
            choices[i] = probe(segment, nlist: nlist, target: lowered)
        }
        return choices
    }

    /// The queries (by position) that probe one list fewer, for a share of them: chosen by a hash
    /// of each query's floats, so that a query repeated gets the same lists (and the same hits)
    /// whether it comes alone or in a batch, while distinct queries spread over the share.
    static func fewerQueries(_ queries: [Float], dimension: Int, share: Double) -> [Int] {
        fewerQueries(fractions: queryFractions(queries, dimension: dimension), share: share)
    }

    static func fewerQueries(fractions: [Double], share: Double) -> [Int] { fractions.indices.filter { fractions[$0] < share } }

    /// Each query's hash as a fraction in [0, 1).
    static func queryFractions(_ queries: [Float], dimension: Int) -> [Double] {
        stride(from: 0, to: queries.count, by: dimension).map { start in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for value in queries[start..<(start + dimension)] {
                hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01b3
            }
            // The top 53 bits as a fraction, after a final mix (FNV's low bits are weak).
            hash ^= hash >> 33
            hash = hash &* 0xff51_afd7_ed55_8ccd
            hash ^= hash >> 33
            return Double(hash >> 11) / Double(1 << 53)
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
            var calibration: RecallCalibration?
            if case .indexed(let rows) = segment.storage { calibration = rows.calibration }
            facts.append(
                SegmentFacts(
                    storage: storage, rows: segment.count, live: segment.liveCount,
                    passing: filter == nil ? nil : passingSet?.cardinality ?? 0, calibration: calibration))
        }
        let choices = Self.choose(facts, k: k, probing: probing, settings: settings)
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
                scans.append(
                    SegmentScan(
                        strategy: choice.strategy, excluded: excluded, passing: passing, nprobe: choice.nprobe,
                        expectedRecall: choice.expectedRecall, walk: choice.walk, fewerShare: choice.fewerShare))
                if case .indexed(let nlist, let generation) = fact.storage, let nprobe = choice.nprobe {
                    // A walk orders the lists itself.
                    if choice.walk == nil { nprobes[generation] = max(nprobes[generation] ?? 0, nprobe) }
                    floats += (segment.count * nprobe + nlist - 1) / nlist * dimension
                } else {
                    floats += segment.count * dimension
                }
            }
        }
        for generation in nprobes.keys { floats += (view.templates[generation]?.record.nlist ?? 0) * dimension }
        return Plan(
            scans: scans, nprobes: nprobes, passing: facts.reduce(0) { $0 + ($1.passing ?? $1.live) },
            filterMicroseconds: filterMicroseconds, floatsPerQuery: floats, probing: probing)
    }

    /// What running a plan over some queries gave: the hits, how many queries were searched
    /// again exactly because their lists held too few passing rows, and, per segment position
    /// that walked its lists, the lists probed summed over the queries.
    struct Outcome: Sendable {
        var hits: [[TopKAccumulator.Hit]]
        var exactRetries: Int
        var listsWalked: [Int: Int] = [:]
    }

    /// Runs the plan for a slice of the queries.
    func execute(_ plan: Plan, queries: [Float]) throws(QuiverError) -> Outcome {
        let schema = view.stored.schema
        var accumulator = TopKAccumulator(queries: queries, dimension: schema.dimension, k: k, innerProduct: schema.metric != .l2)
        var assignments: [UInt32: IVFAssignment] = [:]
        for (generation, nprobe) in plan.nprobes {
            assignments[generation] = try view.templates[generation]!.index.assign(queries: queries, nprobe: nprobe)
        }
        // Walks order every list themselves, from keys computed once per generation.
        var coarseKeys: [UInt32: [Float]] = [:]
        var listsWalked: [Int: Int] = [:]
        // Hashed once for every segment that sends a share of the queries one list lower.
        var fractions: [Double]?
        func fewer(_ share: Double) -> [Int] {
            guard share > 0 else { return [] }
            if fractions == nil { fractions = Self.queryFractions(queries, dimension: schema.dimension) }
            return Self.fewerQueries(fractions: fractions!, share: share)
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
                if let walk = scan.walk {
                    if coarseKeys[rows.generation] == nil {
                        coarseKeys[rows.generation] = try view.templates[rows.generation]!.index.coarseKeys(
                            queries: queries, innerProduct: schema.metric != .l2)
                    }
                    let walked = try rows.index.walkScan(
                        labels: rows.labels, excluded: scan.excluded, locationBase: base, listsMin: walk.listsMin,
                        listsPlanned: walk.listsPlanned, share: walk.share, missBudget: walk.missBudget,
                        segmentHits: walk.hits, coarseKeys: coarseKeys[rows.generation],
                        fewerQueries: fewer(scan.fewerShare), into: &accumulator)
                    listsWalked[position] = walked.reduce(0, +)
                    continue
                }
                var assignment = assignments[rows.generation]!
                if let nprobe = scan.nprobe {
                    assignment = assignment.prefix(nprobe: nprobe)
                    assignment = assignment.dropLast(forQueriesAt: fewer(scan.fewerShare))
                }
                try rows.index.scan(
                    assignment: assignment, labels: rows.labels, excluded: scan.excluded, locationBase: base, into: &accumulator)
            }
        }
        var hits = accumulator.finish()
        // Queries the lists left short: again over every segment's passing rows, exactly.
        let wanted = min(k, plan.passing)
        let short = hits.indices.filter { hits[$0].count < wanted }
        guard !short.isEmpty else { return Outcome(hits: hits, exactRetries: 0, listsWalked: listsWalked) }
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
        return Outcome(hits: hits, exactRetries: short.count, listsWalked: listsWalked)
    }

    /// The plan as `explain` shows it; `listsWalked` and `queries` from the outcomes of running it.
    func report(_ plan: Plan, filter: Filter?, exactRetries: Int, listsWalked: [Int: Int] = [:], queries: Int = 0) -> SearchPlan {
        let segments = zip(view.segments.indices, zip(view.segments, plan.scans)).map { position, pair in
            let (segment, scan) = pair
            var nlist: Int?
            var calibrationQueries: Int?
            if case .indexed(let rows) = segment.storage {
                nlist = rows.index.nlist
                calibrationQueries = rows.calibration?.queries
            }
            return SearchPlan.Segment(
                id: segment.id, phase: segment.phase, liveRows: segment.liveCount, passingRows: scan.passing,
                strategy: scan.strategy, nprobe: scan.strategy == .ivf ? scan.nprobe : nil, nlist: nlist,
                expectedRecall: scan.strategy == .ivf ? scan.expectedRecall : nil, calibrationQueries: calibrationQueries,
                listsWalked: listsWalked[position].flatMap { queries > 0 ? Double($0) / Double(queries) : nil })
        }
        var target: Double?
        var nprobe: Int?
        switch plan.probing {
        case .recall(let value): target = value
        case .nprobe(let value): nprobe = value
        }
        return SearchPlan(
            filter: filter?.description, segments: segments, exactRetries: exactRetries, filterMicroseconds: plan.filterMicroseconds,
            recallTarget: target, nprobeGiven: nprobe)
    }
}
