import QuiverCore
import QuiverIndex
import QuiverStorage

/// Operator calls on segments: rebuild one, and look at the health of its index.
extension Database {
    /// Rewrites an indexed segment from the vectors in storage with the collection's current
    /// template (as compaction does), in the background: the segment gets a new id, its deleted
    /// rows are dropped. `waitForBackgroundWork` waits for it.
    ///
    /// - Throws: `notFound` for a missing collection or segment; `failedPrecondition` when the
    ///   segment is not indexed (growing and sealed segments have no index to rebuild).
    public func rebuild(_ name: String, segment: SegmentID) async throws(QuiverError) {
        try await operation { () async throws(QuiverError) in
            let collection = try registry.require(name)
            let phase = collection.data.withLock { $0.segment(segment)?.phase }
            guard let phase else { throw Self.segmentNotFound(name, segment) }
            guard phase == .indexed else {
                throw QuiverError(
                    .failedPrecondition, .segmentNotIndexed, "collection \"\(name)\": \(segment) is \(phase), only indexed segments are rebuilt",
                    collection: name, field: "segment", value: String(segment.rawValue))
            }
            _ = background.schedule(.rebuild(collection, segment))
        }
    }

    /// A segment's info with the health of its index: list sizes, tombstone ratio and, with
    /// `checkRecall` > 0, a self-check: that many stored vectors of the segment (spread evenly
    /// over its live rows) are searched through the segment's index at the collection's default
    /// nprobe and exactly over the segment's vectors read from storage, and recall@10 compares
    /// the two. A falling recall with stable data means the centroids no longer fit the data.
    ///
    /// - Parameter checkRecall: 0 (no check) to `Limits.recallCheckQueriesMax`; indexed segments only.
    public func segmentHealth(_ name: String, segment: SegmentID, checkRecall: Int = 0) async throws(QuiverError) -> SegmentHealth {
        try await operation { () async throws(QuiverError) -> SegmentHealth in
            let collection = try registry.require(name)
            guard (0...Limits.recallCheckQueriesMax).contains(checkRecall) else {
                throw .invalid(
                    .limitExceeded, "collection \"\(name)\": the recall check takes 0–\(Limits.recallCheckQueriesMax) queries, got \(checkRecall)",
                    collection: name, field: "check_recall", value: String(checkRecall))
            }
            guard let info = try describeCollection(name).segments.first(where: { $0.id == segment && $0.phase != .dropped }) else {
                throw Self.segmentNotFound(name, segment)
            }
            let view = collection.view()
            guard let position = view.segments.firstIndex(where: { $0.id == segment }) else { throw Self.segmentNotFound(name, segment) }
            let target = view.segments[position]
            let tombstones = target.count == 0 ? 0 : Double(target.deletedCount) / Double(target.count)
            guard case .indexed(let rows) = target.storage else {
                if checkRecall > 0 {
                    throw QuiverError(
                        .failedPrecondition, .segmentNotIndexed,
                        "collection \"\(name)\": \(segment) is \(target.phase) and searched exactly; the recall check needs an indexed segment",
                        collection: name, field: "segment", value: String(segment.rawValue))
                }
                return SegmentHealth(info: info, tombstoneRatio: tombstones, lists: nil, recall: nil)
            }
            let lists = SegmentHealth.Lists(sizes: rows.index.listSizes())
            guard checkRecall > 0, target.liveCount > 0 else {
                return SegmentHealth(info: info, tombstoneRatio: tombstones, lists: lists, recall: nil)
            }
            let recall = try await readers.run { () throws(QuiverError) -> SegmentHealth.RecallCheck in
                try Self.checkRecall(view, position: position, rows: rows, queries: checkRecall, store: self.store)
            }
            return SegmentHealth(info: info, tombstoneRatio: tombstones, lists: lists, recall: recall)
        }
    }

    static func segmentNotFound(_ collection: String, _ segment: SegmentID) -> QuiverError {
        QuiverError(
            .notFound, .segmentNotFound, "collection \"\(collection)\" has no segment \(segment.rawValue)", collection: collection,
            field: "segment", value: String(segment.rawValue))
    }

    private static func checkRecall(
        _ view: CollectionView, position: Int, rows: IndexedRows, queries wanted: Int, store: Store
    ) throws(QuiverError) -> SegmentHealth.RecallCheck {
        let schema = view.stored.schema
        let segment = view.segments[position]
        let live = (0..<segment.count).filter { !segment.isDeleted($0) }
        // The exact side reads the vectors from storage, not from the index under test.
        let stored = try store.readVectors(of: view.stored, rows: live.map { rows.rowIDs[$0] }, snapshot: view.storage)
        let block = VectorBlock(dimension: schema.dimension, capacity: live.count)
        for (i, (local, vector)) in zip(live, stored).enumerated() {
            guard let vector else {
                throw .corruption("collection \"\(schema.name)\": \(rows.rowIDs[local]) has no vector in storage", collection: schema.name)
            }
            block.write(row: i, id: rows.labels[local], rowID: rows.rowIDs[local], vector: vector)
        }
        let count = min(wanted, live.count)
        let step = max(1, live.count / count)
        let sample = (0..<count).map { $0 * step }
        var queries: [Float] = []
        for i in sample { queries += block.vector(at: i) }
        let k = min(10, live.count)
        let innerProduct = schema.metric != .l2
        var exact = TopKAccumulator(queries: queries, dimension: schema.dimension, k: k, innerProduct: innerProduct)
        try block.scan(count: live.count, excluded: nil, locationBase: 0, into: &exact)
        guard let template = view.templates[rows.generation] else {
            throw QuiverError(.internal, .internalFailure, "collection \"\(schema.name)\": no template for generation \(rows.generation)")
        }
        let nprobe = min(template.record.nlist, schema.index.nprobe ?? IndexSettings.nprobeDefault(nlist: template.record.nlist))
        var ivf = TopKAccumulator(queries: queries, dimension: schema.dimension, k: k, innerProduct: innerProduct)
        try rows.index.scan(
            assignment: try template.index.assign(queries: queries, nprobe: nprobe), labels: rows.labels,
            excluded: segment.tombstones, locationBase: 0, into: &ivf)
        var found = 0
        for (want, got) in zip(exact.finish(), ivf.finish()) {
            found += Set(want.map(\.label)).intersection(got.map(\.label)).count
        }
        return SegmentHealth.RecallCheck(queries: count, k: k, nprobe: nprobe, recall: Double(found) / Double(count * k))
    }
}
