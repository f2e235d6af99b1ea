import QuiverCore
import QuiverFilter

/// Filters outside search: count, get and delete the records that pass a filter. Each evaluates
/// the filter over one `CollectionView`, through the same per-segment row sets as search.
extension Database {
    /// The number of live records that pass `filter` (all live records when `nil`).
    public func count(_ name: String, filter: String? = nil) async throws(QuiverError) -> Int {
        try await operation { () async throws(QuiverError) -> Int in
            let collection = try registry.require(name)
            guard let filter else { return collection.view().rowCount }
            let parsed = try Self.parseFilter(filter, collection: collection)
            let view = collection.view()
            return try await evaluate(view) { segment in segment.passing(parsed).cardinality }.reduce(0, +)
        }
    }

    /// The live records that pass `filter`, in ascending id order, at most `limit` of them.
    ///
    /// - Parameters:
    ///   - limit: 1–`Limits.idsPerCallMax`.
    ///   - includeVectors: return the stored vectors. Default `false`.
    ///   - fields: which fields to return. Default all.
    public func query(
        _ name: String, filter: String?, limit: Int, includeVectors: Bool = false, fields: FieldSelection = .all
    ) async throws(QuiverError) -> [StoredRecord] {
        try await operation { () async throws(QuiverError) -> [StoredRecord] in
            let collection = try registry.require(name)
            guard (1...Limits.idsPerCallMax).contains(limit) else {
                throw .invalid(
                    .limitExceeded, "collection \"\(name)\": limit must be 1–\(Limits.idsPerCallMax), got \(limit)",
                    collection: name, field: "limit", value: String(limit))
            }
            let fieldIndices = try fields.indices(in: collection.schema)
            let parsed = try filter.map { (text) throws(QuiverError) in try Self.parseFilter(text, collection: collection) }
            let view = collection.view()
            let matches = try await matching(view, parsed)
            let chosen = Array(matches.sorted { $0.id < $1.id }.prefix(limit))
            let locations = chosen.map(\.location)
            let dimension = collection.schema.dimension
            try checkResultSize(
                collection: name, records: chosen.count, dimension: dimension, includeVectors: includeVectors, what: "this query by filter")
            let values = try await readFields(
                view, locations: locations, indices: fieldIndices,
                bytesLeft: resultBytesMax - chosen.count * (Self.resultRecordOverheadBytes + (includeVectors ? dimension * 4 : 0)))
            let vectors = includeVectors ? try await readVectors(view, locations: locations) : locations.map { _ in nil }
            return chosen.indices.map { StoredRecord(id: chosen[$0].id, vector: vectors[$0], fields: values[$0]) }
        }
    }

    /// Deletes every live record that passes `filter`, atomically (one commit). A record written
    /// again after the filter was evaluated is not deleted: only the versions that matched are.
    ///
    /// - Returns: how many records were deleted.
    /// - Throws: `invalidArgument` for an empty filter (delete by id, or drop the collection, to
    ///   remove everything) or one that does not parse.
    public func delete(_ name: String, filter: String) async throws(QuiverError) -> Int {
        try await operation { () async throws(QuiverError) -> Int in
            let collection = try registry.require(name)
            guard !filter.allSatisfy(\.isWhitespace) else {
                throw .invalid(
                    .invalidFilter, "collection \"\(name)\": delete by filter needs a filter", collection: name,
                    field: "filter", value: filter)
            }
            let parsed = try Self.parseFilter(filter, collection: collection)
            let view = collection.view()
            let matches = try await matching(view, parsed)
            guard !matches.isEmpty else { return 0 }
            let versions = matches.map { view.segments[$0.location.position].rowID(at: $0.location.row) }
            guard case .deleted(let count) = try await submit(.delete(collection, matches.map(\.id), versions: versions)) else {
                preconditionFailure("delete produced another outcome")
            }
            return count
        }
    }

    /// The live rows of the view that pass `filter` (all live rows when `nil`).
    private func matching(_ view: CollectionView, _ filter: Filter?) async throws(QuiverError) -> [(id: RecordID, location: ViewLocation)] {
        let perSegment = try await evaluate(view) { segment in
            filter.map { segment.passing($0) } ?? segment.liveRows
        }
        var matches: [(id: RecordID, location: ViewLocation)] = []
        for (position, rows) in perSegment.enumerated() {
            for row in rows.rows {
                matches.append((view.segments[position].label(at: Int(row)), ViewLocation(position: position, row: Int(row))))
            }
        }
        return matches
    }

    /// `body` over every segment of the view, on a reader thread.
    private func evaluate<R: Sendable>(
        _ view: CollectionView, _ body: @escaping @Sendable (SegmentState) -> R
    ) async throws(QuiverError) -> [R] {
        try await readers.run { () throws(QuiverError) in view.segments.map(body) }
    }
}
