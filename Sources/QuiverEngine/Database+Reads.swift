import QuiverCore
import QuiverFilter
import QuiverIndex
import QuiverStorage

/// Reads: get by id and exact k-nearest-neighbour search. Both work on one `CollectionView`, so
/// the rows, vectors and fields they return belong to a single committed state.
extension Database {
    /// Returns the records with these ids, in the same order; `nil` where no live record exists.
    ///
    /// - Parameters:
    ///   - includeVectors: return the stored vectors (bit for bit as stored). Default `true`.
    ///   - fields: which fields to return. Default all.
    public func get(
        _ name: String, ids: [RecordID], includeVectors: Bool = true, fields: FieldSelection = .all
    ) async throws(QuiverError) -> [StoredRecord?] {
        try await operation { () async throws(QuiverError) -> [StoredRecord?] in
            let collection = try registry.require(name)
            try Self.checkIDs(ids, collection: name)
            let fieldIndices = try fields.indices(in: collection.schema)
            let (view, locations) = collection.data.withLock { data in (data.view(collection.stored), ids.map { data.location(of: $0) }) }
            let found = locations.compactMap { $0.map { Self.viewLocation($0, in: view) } }
            let dimension = collection.schema.dimension
            try checkResultSize(collection: name, records: found.count, dimension: dimension, includeVectors: includeVectors, what: "this get")
            let fieldValues = try await readFields(
                view, locations: found, indices: fieldIndices,
                bytesLeft: resultBytesMax - found.count * (Self.resultRecordOverheadBytes + (includeVectors ? dimension * 4 : 0)))
            let vectors = includeVectors ? try await readVectors(view, locations: found) : found.map { _ in nil }
            var next = 0
            return zip(ids, locations).map { id, location in
                guard location != nil else { return nil }
                defer { next += 1 }
                return StoredRecord(id: id, vector: vectors[next], fields: fieldValues[next])
            }
        }
    }

    /// A row's location inside a view (the view holds every segment the location can name).
    static func viewLocation(_ location: RowLocation, in view: CollectionView) -> ViewLocation {
        guard let position = view.segments.position(of: location.segment) else { preconditionFailure("a location outside its view") }
        return ViewLocation(position: position, row: location.row)
    }

    /// k-nearest-neighbour search over every live record, or over those that pass
    /// `options.filter`: exact over growing and sealed segments, IVF over indexed ones
    /// (at `options.recallTarget`, or at least `options.nprobe` lists; exact for Flat codes at a
    /// target of 1 or an nprobe that reaches nlist), one merged top-k.
    ///
    /// Hits come best first: ascending squared distance for `l2`, descending similarity for `ip`
    /// and `cosine`; equal scores are ordered by ascending id. `k` hits come back whenever `k`
    /// live rows pass (a query whose probed lists held fewer is searched again exactly over the
    /// passing rows; `SearchPlanner`).
    ///
    /// - Parameters:
    ///   - queries: 1–`Limits.queriesPerSearchMax` vectors of the collection's dimension;
    ///     normalized here for cosine.
    ///   - k: 1–`Limits.kRange.upperBound`; `queries.count × k` at most `Limits.resultSlotsMax`.
    /// - Returns: one hit list per query, in query order.
    public func search(
        _ name: String, queries: [[Float]], k: Int, options: SearchOptions = SearchOptions()
    ) async throws(QuiverError) -> [[SearchHit]] {
        try await explainedSearch(name, queries: queries, k: k, options: options).hits
    }

    /// `search`, with the plan it ran: the filter's pass counts and the strategy and nprobe of
    /// every segment (what `explain` shows).
    public func explainedSearch(
        _ name: String, queries: [[Float]], k: Int, options: SearchOptions = SearchOptions()
    ) async throws(QuiverError) -> (hits: [[SearchHit]], plan: SearchPlan) {
        try await operation { () async throws(QuiverError) -> ([[SearchHit]], SearchPlan) in
            let collection = try registry.require(name)
            let schema = collection.schema
            try Self.checkSearch(queryCount: queries.count, k: k, collection: name)
            var flat: [Float] = []
            flat.reserveCapacity(queries.count * schema.dimension)
            for (i, query) in queries.enumerated() {
                flat += try schema.metric.prepare(query, dimension: schema.dimension, collection: name, what: "query \(i)")
            }
            let fieldIndices = try options.fields.indices(in: schema)
            if let nprobe = options.nprobe, !IndexSettings.nprobeRange.contains(nprobe) {
                throw .invalid(
                    .limitExceeded, "collection \"\(name)\": nprobe must be 1–\(IndexSettings.nprobeRange.upperBound), got \(nprobe)",
                    collection: name, field: "nprobe", value: String(nprobe))
            }
            if let target = options.recallTarget, !IndexSettings.recallTargetRange.contains(target) {
                throw .invalid(
                    .limitExceeded,
                    "collection \"\(name)\": recall_target must be \(IndexSettings.recallTargetRange.lowerBound)–\(IndexSettings.recallTargetRange.upperBound), got \(target)",
                    collection: name, field: "recall_target", value: String(target))
            }
            let filter = try options.filter.map { (text) throws(QuiverError) in try Self.parseFilter(text, collection: collection) }
            try checkResultSize(
                collection: name, records: queries.count * k, dimension: schema.dimension, includeVectors: options.includeVectors,
                what: "\(queries.count) \(queries.count == 1 ? "query" : "queries") with k \(k)")
            let view = collection.view()
            let (hits, plan) = try await scan(
                view, queries: flat, k: k,
                probing: .resolve(requestedNprobe: options.nprobe, requestedRecall: options.recallTarget, collection: schema.index),
                filter: filter)
            EngineMetrics.searched(plan)
            return (try await materialize(view, hits: hits, includeVectors: options.includeVectors, fieldIndices: fieldIndices), plan)
        }
    }

    static func parseFilter(_ text: String, collection: CollectionState) throws(QuiverError) -> Filter {
        do {
            return try Filter.parse(text, schema: collection.schema)
        } catch {
            throw error.quiverError(collection: collection.name, expression: text)
        }
    }

    static func checkSearch(queryCount: Int, k: Int, collection name: String) throws(QuiverError) {
        guard Limits.kRange.contains(k) else {
            throw .invalid(
                .invalidK, "collection \"\(name)\": k must be \(Limits.kRange.lowerBound)–\(Limits.kRange.upperBound), got \(k)",
                collection: name, field: "k", value: String(k))
        }
        guard queryCount > 0 else {
            throw .invalid(.emptyBatch, "collection \"\(name)\": no query vectors given", collection: name, field: "queries")
        }
        guard queryCount <= Limits.queriesPerSearchMax else {
            throw .invalid(
                .limitExceeded,
                "collection \"\(name)\": at most \(Limits.queriesPerSearchMax) queries per search, got \(queryCount)",
                collection: name, field: "queries", value: String(queryCount))
        }
        guard queryCount * k <= Limits.resultSlotsMax else {
            throw .invalid(
                .limitExceeded,
                "collection \"\(name)\": queries × k is \(queryCount * k), at most \(Limits.resultSlotsMax) is allowed",
                collection: name, field: "k", value: String(k))
        }
    }

    /// Plans the search (`SearchPlanner`) and scans every segment of the view into one top-k.
    /// Query batches big enough for the sgemm path are split across the reader threads, one
    /// slice each; smaller ones run on one thread (a single query's scan is memory-bound, and
    /// other calls use the other cores). A scan that touches at most `inlineScanFloatsMax` floats
    /// runs on the calling task, since the hop to a reader thread and back costs about as much as
    /// the scan: 60–70 µs of a 0.1–0.2 ms query at nprobe 1–4 over 300,000 rows (medians,
    /// `quiver-bench ivf --count 300000`). Bigger scans go to the readers so that they never hold
    /// a cooperative thread for long; so does evaluating a filter over more than
    /// `inlineFilterRowsMax` rows.
    private func scan(
        _ view: CollectionView, queries: [Float], k: Int, probing: SearchPlanner.Probing, filter: Filter?
    ) async throws(QuiverError) -> ([[TopKAccumulator.Hit]], SearchPlan) {
        let dimension = view.stored.schema.dimension
        let queryCount = queries.count / dimension
        let slices = max(1, min(readers.threadCount, queryCount / ComputeThreads.blasQueryThreshold))
        let perSlice = (queryCount + slices - 1) / slices
        let planner = SearchPlanner(view: view, k: k, probing: probing, settings: plannerSettings)

        if slices == 1 {
            // Without a filter, planning is a pass over the segment list: done here, it also
            // gives the scan's size.
            let unfiltered = filter == nil ? try planner.plan(filter: nil) : nil
            @Sendable func run() throws(QuiverError) -> ([[TopKAccumulator.Hit]], SearchPlan) {
                let plan: SearchPlanner.Plan
                if let unfiltered { plan = unfiltered } else { plan = try planner.plan(filter: filter) }
                let outcome = try planner.execute(plan, queries: queries)
                return (
                    outcome.hits,
                    planner.report(
                        plan, filter: filter, exactRetries: outcome.exactRetries, listsWalked: outcome.listsWalked, queries: queryCount)
                )
            }
            let inline =
                if let unfiltered {
                    unfiltered.floatsPerQuery * queryCount <= Self.inlineScanFloatsMax
                } else {
                    view.rowCount <= Self.inlineFilterRowsMax && view.rowCount * dimension * queryCount <= Self.inlineScanFloatsMax
                }
            if inline {
                // Still a suspension point: a task that searches in a loop must not hold its
                // cooperative thread for good.
                await Task.yield()
                // As on the readers, a call cancelled (or past its deadline) before its scan
                // starts does not scan.
                if Task.isCancelled { throw .cancelled }
                return try run()
            }
            return try await readers.run { () throws(QuiverError) in try run() }
        }
        let plan = try await readers.run { () throws(QuiverError) in try planner.plan(filter: filter) }
        let results = await withTaskGroup(of: (Int, Result<SearchPlanner.Outcome, QuiverError>).self) { group in
            for s in 0..<slices {
                let slice = Array(queries[(s * perSlice * dimension)..<(min(queryCount, (s + 1) * perSlice) * dimension)])
                group.addTask { (s, await self.executeInChunks(planner, plan, slice, dimension: dimension)) }
            }
            var ordered = [Result<SearchPlanner.Outcome, QuiverError>?](repeating: nil, count: slices)
            for await (s, result) in group { ordered[s] = result }
            return ordered
        }
        var hits: [[TopKAccumulator.Hit]] = []
        hits.reserveCapacity(queryCount)
        var retries = 0
        var listsWalked: [Int: Int] = [:]
        for result in results {
            let outcome = try result!.get()
            hits += outcome.hits
            retries += outcome.exactRetries
            listsWalked.merge(outcome.listsWalked, uniquingKeysWith: +)
        }
        return (hits, planner.report(plan, filter: filter, exactRetries: retries, listsWalked: listsWalked, queries: queryCount))
    }

    /// Runs one slice of a big batch on the readers a chunk at a time, each chunk its own work
    /// item: the readers' queue is first come, first served, and a slice sent as one item held a
    /// reader for its whole length (seconds for hundreds of queries over a big segment), so a
    /// small search from another call that needed a reader waited for all of it. Between chunks
    /// the other calls' work gets its turn. A chunk keeps at least `blasQueryThreshold` queries,
    /// so it still takes the sgemm path; cancellation is checked before each.
    private func executeInChunks(
        _ planner: SearchPlanner, _ plan: SearchPlanner.Plan, _ queries: [Float], dimension: Int
    ) async -> Result<SearchPlanner.Outcome, QuiverError> {
        let queryCount = queries.count / dimension
        let chunk = max(1, ComputeThreads.blasQueryThreshold) * 2
        var outcome = SearchPlanner.Outcome(hits: [], exactRetries: 0)
        outcome.hits.reserveCapacity(queryCount)
        var start = 0
        while start < queryCount {
            // The last chunk takes the remainder when it would be short of the sgemm threshold.
            let end = queryCount - start < chunk + chunk / 2 ? queryCount : start + chunk
            let part = start == 0 && end == queryCount ? queries : Array(queries[(start * dimension)..<(end * dimension)])
            do throws(QuiverError) {
                let done = try await readers.run { () throws(QuiverError) in try planner.execute(plan, queries: part) }
                outcome.hits += done.hits
                outcome.exactRetries += done.exactRetries
                outcome.listsWalked.merge(done.listsWalked, uniquingKeysWith: +)
            } catch {
                return .failure(error)
            }
            start = end
        }
        return .success(outcome)
    }

    /// Most rows a filter is evaluated over on the calling task.
    static let inlineFilterRowsMax = 8_192

    /// The largest scan, in floats read (queries × rows scanned × dimension, coarse centroids
    /// included), that runs on the calling task: 4 MiB of vectors, about 0.2 ms on one core.
    static let inlineScanFloatsMax = 1 << 20

    /// Turns scan hits into `SearchHit`s with the requested vectors and fields.
    private func materialize(
        _ view: CollectionView, hits: [[TopKAccumulator.Hit]], includeVectors: Bool, fieldIndices: [Int]
    ) async throws(QuiverError) -> [[SearchHit]] {
        guard includeVectors || !fieldIndices.isEmpty else {
            return hits.map { $0.map { SearchHit(id: $0.label, score: $0.score) } }
        }
        // Each row once, with the number of hits it stands for.
        var occurrences: [ViewLocation: Int] = [:]
        var locations: [ViewLocation] = []
        for hit in hits.joined() {
            let location = ViewLocation(packed: hit.location)
            if let seen = occurrences[location] {
                occurrences[location] = seen + 1
            } else {
                occurrences[location] = 1
                locations.append(location)
            }
        }
        let hitCount = hits.reduce(0) { $0 + $1.count }
        let perHit = Self.resultRecordOverheadBytes + (includeVectors ? view.stored.schema.dimension * 4 : 0)
        let fields = try await readFields(
            view, locations: locations, indices: fieldIndices, bytesLeft: resultBytesMax - hitCount * perHit,
            weights: locations.map { occurrences[$0]! })
        let vectors = includeVectors ? try await readVectors(view, locations: locations) : locations.map { _ in nil }
        var extras: [ViewLocation: (fields: [String: FieldValue], vector: [Float]?)] = [:]
        for (i, location) in locations.enumerated() { extras[location] = (fields[i], vectors[i]) }
        return hits.map { queryHits in
            queryHits.map { hit in
                let extra = extras[ViewLocation(packed: hit.location)]!
                return SearchHit(
                    id: hit.label, score: hit.score, vector: extra.vector, fields: fieldIndices.isEmpty ? nil : extra.fields)
            }
        }
    }

    /// The vectors of rows: from memory for exact segments, from the view's storage snapshot for
    /// indexed ones (their IVF lists need not hold the vectors exactly).
    func readVectors(_ view: CollectionView, locations: [ViewLocation]) async throws(QuiverError) -> [[Float]?] {
        var vectors = [[Float]?](repeating: nil, count: locations.count)
        var fromStorage: [(index: Int, row: RowID)] = []
        for (i, location) in locations.enumerated() {
            let segment = view.segments[location.position]
            switch segment.storage {
            case .exact(let block, _): vectors[i] = block.vector(at: location.row)
            case .indexed: fromStorage.append((i, segment.rowID(at: location.row)))
            }
        }
        guard !fromStorage.isEmpty else { return vectors }
        let rows = fromStorage.map(\.row)
        let read = try await readers.run { () throws(QuiverError) in
            try self.store.readVectors(of: view.stored, rows: rows, snapshot: view.storage)
        }
        for ((i, row), vector) in zip(fromStorage, read) {
            guard let vector else {
                throw .corruption("collection \"\(view.stored.schema.name)\": \(row) has no vector in storage", collection: view.stored.schema.name)
            }
            vectors[i] = vector
        }
        return vectors
    }

    /// Reads the selected fields of rows from the view's storage snapshot (on a reader thread), a
    /// chunk of rows at a time, and stops with `responseTooLarge` once they need more than
    /// `bytesLeft` bytes of the result. Location `i` stands `weights[i]` times in the result
    /// (a row several queries hit), once without `weights`.
    func readFields(
        _ view: CollectionView, locations: [ViewLocation], indices: [Int], bytesLeft: Int, weights: [Int]? = nil
    ) async throws(QuiverError) -> [[String: FieldValue]] {
        let schema = view.stored.schema
        guard !indices.isEmpty, !locations.isEmpty else { return locations.map { _ in [:] } }
        var left = bytesLeft
        var result: [[String: FieldValue]] = []
        result.reserveCapacity(locations.count)
        for start in stride(from: 0, to: locations.count, by: Self.fieldReadChunkRows) {
            let chunk = start..<min(locations.count, start + Self.fieldReadChunkRows)
            let rows = locations[chunk].map { view.segments[$0.position].rowID(at: $0.row) }
            let stored = try await readers.run { () throws(QuiverError) in
                try self.store.readFields(of: view.stored, rows: rows, snapshot: view.storage)
            }
            for (offset, (row, values)) in zip(rows, stored).enumerated() {
                guard let values else {
                    throw .corruption("collection \"\(schema.name)\": \(row) has no fields in storage", collection: schema.name)
                }
                var selected: [String: FieldValue] = [:]
                for index in indices { selected[schema.fields[index].name] = values[index] }
                left -= Self.resultBytes(of: selected) * (weights?[start + offset] ?? 1)
                result.append(selected)
            }
            guard left >= 0 else {
                throw Self.resultTooLarge(
                    collection: schema.name,
                    "this read passed the limit of \(resultBytesMax) bytes with the fields of its first \(chunk.upperBound) of \(locations.count) records; "
                        + "ask for fewer results or fewer fields")
            }
        }
        return result
    }

    /// Rows whose fields are read in one storage call (and then counted against the result limit).
    static let fieldReadChunkRows = 4_096
}
