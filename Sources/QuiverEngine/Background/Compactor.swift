import Foundation
import Logging
import QuiverCore
import QuiverFilter
import QuiverIndex
import QuiverStorage

/// Compaction: which indexed segments to rewrite (`groups`, the policy) and the rewrite itself
/// (`rewrite`, also the operator's `segments rebuild`).
///
/// Policy: a segment with more than `deletedShareMax` of its rows deleted is rewritten; segments
/// with fewer live rows than `smallShare` of the segment size are merged with their neighbours,
/// up to one segment's worth of live rows per output; on request (`force`) every indexed segment
/// with a deleted row is rewritten too. Outputs use the collection's current template; a segment
/// built from an older one is not rewritten for that alone, so a retraining never turns into a
/// rebuild of the whole collection.
///
/// Steps of a rewrite (`rewrite`):
/// 1. under the collection's lock: the live rows of the inputs (row id, record id), their row
///    ranges, the current template and a new segment id;
/// 2. on the maintenance thread: their vectors and fields read from a RocksDB snapshot (SQ8 and PQ
///    lists do not hold the vectors exactly), rows deleted since step 1 left out; a clone of the
///    template filled, its recall calibration measured, the file written;
/// 3. `WriteOp.replaceSegments` records the output and removes the inputs' records in one
///    commit, and under the lock moves every row that is still the live version of its record
///    to the output (the others are tombstoned there: deleted or replaced while it was built);
/// 4. the inputs' files are deleted (after any backup that holds them).
///
/// Invariants: searches see either the inputs or the output, never both and never neither, so no
/// row is missing or doubled at any moment; writes and searches never wait for a compaction.
///
/// Rejected: FAISS's `merge_from` of the inputs' lists. It keeps deleted rows (FAISS 1.7.3 has no
/// cheap removal: `remove_ids` is O(ntotal) and reorders lists), so the output would carry the
/// tombstones compaction is there to drop, and SQ8/PQ codes would never be re-encoded with a newer
/// template.
struct Compactor: Sendable {
    let context: BackgroundContext

    /// A segment is rewritten once more than this share of its rows is deleted.
    static let deletedShareMax = 0.2
    /// Indexed segments with fewer live rows than this share of the segment size are merged.
    static let smallShare = 0.5

    /// The groups of indexed segments to replace, each rewritten into one output (see the policy
    /// above). Empty when nothing is due.
    static func groups(_ data: CollectionData, force: Bool) -> [[SegmentID]] {
        var groups: [[SegmentID]] = []
        var group: [SegmentID] = []
        var groupRows = 0
        var groupNeedsRewrite = false
        func close() {
            if group.count >= 2 || (group.count == 1 && groupNeedsRewrite) { groups.append(group) }
            group = []
            groupRows = 0
            groupNeedsRewrite = false
        }
        for segment in data.segments where segment.phase == .indexed {
            let rewrite = Double(segment.deletedCount) > deletedShareMax * Double(segment.count) || (force && segment.deletedCount > 0)
            let small = Double(segment.liveCount) < smallShare * Double(data.segmentRows)
            guard rewrite || small else { continue }
            if groupRows + segment.liveCount > data.segmentRows { close() }
            group.append(segment.id)
            groupRows += segment.liveCount
            groupNeedsRewrite = groupNeedsRewrite || rewrite
        }
        close()
        return groups
    }

    /// Whether the policy has work for the collection now.
    static func isDue(_ collection: CollectionState) -> Bool {
        collection.data.withLock { !groups($0, force: false).isEmpty }
    }

    /// Rewrites every group the policy names now, in order; stops at the first failure.
    func compact(_ collection: CollectionState, force: Bool) async throws(QuiverError) {
        let groups = collection.data.withLock { Self.groups($0, force: force) }
        for inputs in groups { try await rewrite(collection, inputs) }
    }

    /// Replaces `inputs` (indexed segments) by one segment of their live rows, built from the
    /// current template; with no live rows left, by none. Does nothing when an input is no
    /// longer indexed or the collection has no template.
    func rewrite(_ collection: CollectionState, _ inputs: [SegmentID]) async throws(QuiverError) {
        // 1. Capture.
        let captured: (rows: [(rowID: RowID, label: RecordID)], ranges: [RowRange], template: Template, output: SegmentID)? =
            collection.data.withLock { data in
                guard let template = data.currentTemplate else { return nil }
                var rows: [(rowID: RowID, label: RecordID)] = []
                var ranges: [RowRange] = []
                for id in inputs {
                    guard let segment = data.segment(id), case .indexed(let indexed) = segment.storage else { return nil }
                    for row in 0..<segment.count where !segment.isDeleted(row) {
                        rows.append((indexed.rowIDs[row], indexed.labels[row]))
                    }
                    ranges += indexed.record.rowRanges
                }
                return (rows.sorted { $0.rowID < $1.rowID }, RowRange.union(ranges), template, data.allocateSegmentID())
            }
        guard let captured else { return }
        let started = ContinuousClock.now
        let path = context.files.path(collection.stored.id, captured.output)
        let store = context.store
        let stored = collection.stored
        let compress = collection.schema.index.compressFiles
        let stopping = context.stopping
        // 2. Build.
        let output = try await context.thread.run { () throws(QuiverError) -> IndexedRows? in
            let snapshot = store.snapshot()
            let ids = captured.rows.map(\.rowID)
            let vectors = try store.readVectors(of: stored, rows: ids, snapshot: snapshot)
            let values = try store.readFields(of: stored, rows: ids, snapshot: snapshot)
            var rowIDs: [RowID] = []
            var labels: [RecordID] = []
            var flat: [Float] = []
            var columns = FieldColumns(schema: stored.schema, reservingCapacity: ids.count)
            for ((row, vector), fields) in zip(zip(captured.rows, vectors), values) {
                guard let vector else { continue }
                guard let fields else {
                    throw .corruption("collection \"\(stored.schema.name)\": \(row.rowID) has a vector but no fields", collection: stored.schema.name)
                }
                rowIDs.append(row.rowID)
                labels.append(row.label)
                flat += vector
                columns.append(fields)
            }
            guard !rowIDs.isEmpty else { return nil }
            let index = try captured.template.index.emptyClone()
            try flat.withUnsafeBufferPointer { (buffer) throws(QuiverError) in
                try index.add(buffer, ids: (0..<Int64(rowIDs.count)).map { $0 })
            }
            let calibration = try flat.withUnsafeBufferPointer { (buffer) throws(QuiverError) in
                try RecallCalibration.measure(
                    vectors: buffer, dimension: stored.schema.dimension, innerProduct: stored.schema.metric != .l2,
                    template: captured.template.index, index: index, flatCodes: stored.schema.index.codes == .flat,
                    shouldStop: { stopping.isSet })
            }
            let checksum = try SegmentFile(rowIDs: rowIDs, labels: labels, index: index).write(to: path, compress: compress)
            let now = SegmentState.nowMilliseconds()
            let record = SegmentRecord(
                id: captured.output, file: "\(captured.output.rawValue).ivf", checksum: checksum, rows: rowIDs.count,
                rowRanges: captured.ranges, template: captured.template.record.generation, createdAtMilliseconds: now,
                indexedAtMilliseconds: now, buildMilliseconds: Int64((ContinuousClock.now - started).milliseconds),
                calibration: calibration)
            return IndexedRows(index: index, rowIDs: rowIDs, labels: labels, record: record, fields: SegmentFields(freezing: columns))
        }
        // 3. Swap.
        if case .failure(let error) = await context.commits.submit(.replaceSegments(collection, inputs: inputs, output: output)) {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        // 4. The inputs' files.
        for id in inputs { context.files.delete(context.files.path(collection.stored.id, id)) }
        context.statistics.compactions.add(1, ordering: .relaxed)
        EngineMetrics.compaction.record(duration: ContinuousClock.now - started)
        context.logger.info(
            "segments compacted",
            metadata: [
                "collection": "\(collection.name)", "inputs": "\(inputs.map(\.rawValue))",
                "output": "\(output.map { "\($0.record.id.rawValue)" } ?? "none")", "rows": "\(output?.rowIDs.count ?? 0)",
            ])
    }
}
