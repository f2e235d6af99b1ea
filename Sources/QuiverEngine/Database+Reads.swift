import QuiverCore
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
        _ collection: String, ids: [RecordID], includeVectors: Bool = true, fields: FieldSelection = .all
    ) async throws(QuiverError) -> [StoredRecord?] {
        try await operation { () async throws(QuiverError) -> [StoredRecord?] in
            let state = try registry.require(collection)
            try Self.checkIDs(ids, collection: collection)
            let fieldIndices = try fields.indices(in: state.schema)
            let (view, locations) = state.data.withLock { data in
                (
                    CollectionView(stored: state.stored, blocks: data.blocks, storage: data.storage, rowCount: data.rowCount),
                    ids.map { data.location(of: $0) }
                )
            }
            let fieldValues = try await readFields(view, locations: locations.compactMap { $0 }, indices: fieldIndices)
            var next = 0
            return zip(ids, locations).map { id, location in
                guard let location else { return nil }
                defer { next += 1 }
                return StoredRecord(
                    id: id,
                    vector: includeVectors ? view.blocks[location.block].block.vector(at: location.row) : nil,
                    fields: fieldValues[next])
            }
        }
    }

    /// Exact k-nearest-neighbour search over every live record.
    ///
    /// Hits come best first: ascending squared distance for `l2`, descending similarity for `ip`
    /// and `cosine`; equal scores are ordered by ascending id. Fewer than `k` hits come back only
    /// when the collection holds fewer than `k` records.
    ///
    /// - Parameters:
    ///   - queries: 1–`Limits.queriesPerSearchMax` vectors of the collection's dimension;
    ///     normalized here for cosine.
    ///   - k: 1–`Limits.kRange.upperBound`; `queries.count × k` at most `Limits.resultSlotsMax`.
    /// - Returns: one hit list per query, in query order.
    public func search(
        _ collection: String, queries: [[Float]], k: Int, options: SearchOptions = SearchOptions()
    ) async throws(QuiverError) -> [[SearchHit]] {
        try await operation { () async throws(QuiverError) -> [[SearchHit]] in
            let state = try registry.require(collection)
            let schema = state.schema
            try Self.checkSearch(queryCount: queries.count, k: k, collection: collection)
            var flat: [Float] = []
            flat.reserveCapacity(queries.count * schema.dimension)
            for (i, query) in queries.enumerated() {
                flat += try schema.metric.prepare(query, dimension: schema.dimension, collection: collection, what: "query \(i)")
            }
            let fieldIndices = try options.fields.indices(in: schema)
            let view = state.view()
            let hits = try await exactSearch(view, queries: flat, k: k)
            return try await materialize(view, hits: hits, includeVectors: options.includeVectors, fieldIndices: fieldIndices)
        }
    }

    static func checkSearch(queryCount: Int, k: Int, collection: String) throws(QuiverError) {
        guard Limits.kRange.contains(k) else {
            throw .invalid(
                .invalidK, "collection \"\(collection)\": k must be \(Limits.kRange.lowerBound)–\(Limits.kRange.upperBound), got \(k)",
                collection: collection, field: "k", value: String(k))
        }
        guard queryCount > 0 else {
            throw .invalid(.emptyBatch, "collection \"\(collection)\": no query vectors given", collection: collection, field: "queries")
        }
        guard queryCount <= Limits.queriesPerSearchMax else {
            throw .invalid(
                .limitExceeded,
                "collection \"\(collection)\": at most \(Limits.queriesPerSearchMax) queries per search, got \(queryCount)",
                collection: collection, field: "queries", value: String(queryCount))
        }
        guard queryCount * k <= Limits.resultSlotsMax else {
            throw .invalid(
                .limitExceeded,
                "collection \"\(collection)\": queries × k is \(queryCount * k), at most \(Limits.resultSlotsMax) is allowed",
                collection: collection, field: "k", value: String(k))
        }
    }

    /// Scans every block of the view. Query batches big enough for the sgemm path are split across
    /// the reader threads, one slice each; smaller ones run on one thread (a single query's scan is
    /// memory-bound, and other calls use the other cores).
    private func exactSearch(
        _ view: CollectionView, queries: [Float], k: Int
    ) async throws(QuiverError) -> [[TopKAccumulator.Hit]] {
        let dimension = view.stored.schema.dimension
        let innerProduct = view.stored.schema.metric != .l2
        let queryCount = queries.count / dimension
        let threshold = ComputeThreads.blasQueryThreshold
        let slices = max(1, min(readers.threadCount, queryCount / threshold))
        let perSlice = (queryCount + slices - 1) / slices

        @Sendable func scan(_ slice: [Float]) throws(QuiverError) -> [[TopKAccumulator.Hit]] {
            var accumulator = TopKAccumulator(queries: slice, dimension: dimension, k: k, innerProduct: innerProduct)
            for (index, block) in view.blocks.enumerated() where block.liveCount > 0 {
                try block.block.scan(
                    count: block.count, excluded: block.deletedCount > 0 ? block.deleted : nil,
                    locationBase: RowLocation.locationBase(ofBlock: index), into: &accumulator)
            }
            return accumulator.finish()
        }

        if slices == 1 { return try await readers.run { () throws(QuiverError) in try scan(queries) } }
        let results = await withTaskGroup(of: (Int, Result<[[TopKAccumulator.Hit]], QuiverError>).self) { group in
            for s in 0..<slices {
                let slice = Array(queries[(s * perSlice * dimension)..<(min(queryCount, (s + 1) * perSlice) * dimension)])
                group.addTask {
                    do throws(QuiverError) {
                        return (s, .success(try await self.readers.run { () throws(QuiverError) in try scan(slice) }))
                    } catch {
                        return (s, .failure(error))
                    }
                }
            }
            var ordered = [Result<[[TopKAccumulator.Hit]], QuiverError>?](repeating: nil, count: slices)
            for await (s, result) in group { ordered[s] = result }
            return ordered
        }
        var hits: [[TopKAccumulator.Hit]] = []
        hits.reserveCapacity(queryCount)
        for result in results { hits += try result!.get() }
        return hits
    }

    /// Turns scan hits into `SearchHit`s with the requested vectors and fields.
    private func materialize(
        _ view: CollectionView, hits: [[TopKAccumulator.Hit]], includeVectors: Bool, fieldIndices: [Int]
    ) async throws(QuiverError) -> [[SearchHit]] {
        var fieldsByLocation: [RowLocation: [String: FieldValue]] = [:]
        if !fieldIndices.isEmpty {
            var seen = Set<RowLocation>()
            let locations = hits.joined().map { RowLocation(packed: $0.location) }.filter { seen.insert($0).inserted }
            let values = try await readFields(view, locations: locations, indices: fieldIndices)
            fieldsByLocation = Dictionary(uniqueKeysWithValues: zip(locations, values))
        }
        return hits.map { queryHits in
            queryHits.map { hit in
                let location = RowLocation(packed: hit.location)
                return SearchHit(
                    id: RecordID(hit.label), score: hit.score,
                    vector: includeVectors ? view.blocks[location.block].block.vector(at: location.row) : nil,
                    fields: fieldIndices.isEmpty ? nil : fieldsByLocation[location])
            }
        }
    }

    /// Reads the selected fields of rows from the view's storage snapshot (on a reader thread).
    private func readFields(
        _ view: CollectionView, locations: [RowLocation], indices: [Int]
    ) async throws(QuiverError) -> [[String: FieldValue]] {
        let schema = view.stored.schema
        guard !indices.isEmpty, !locations.isEmpty else { return locations.map { _ in [:] } }
        let rows = locations.map { view.blocks[$0.block].block.rowID(at: $0.row) }
        let stored = try await readers.run { () throws(QuiverError) in
            try self.store.readFields(of: view.stored, rows: rows, snapshot: view.storage)
        }
        return try zip(rows, stored).map { (row, values) throws(QuiverError) -> [String: FieldValue] in
            guard let values else {
                throw .corruption("collection \"\(schema.name)\": \(row) has no fields in storage", collection: schema.name)
            }
            var selected: [String: FieldValue] = [:]
            for index in indices { selected[schema.fields[index].name] = values[index] }
            return selected
        }
    }
}
