import Foundation
import Logging
import QuiverCore
import QuiverIndex
import QuiverStorage

/// Builds the IVF index of a sealed segment, training the collection's template first when it
/// has none or has outgrown it.
///
/// Steps of a build (`build`), all but the first and the last on the maintenance thread:
/// 1. under the collection's lock, the segment goes from `sealed` to `indexing` and its vectors
///    (an immutable `VectorBlock`), field columns and row count are captured. Writes go on: they
///    append to the growing segment, and deletes only set tombstone bits;
/// 2. a template is trained when needed (`needsRetraining`): k-means on an even sample of the
///    segment's vectors, `trainingPointsPerList` per list, published through the commit queue
///    (`WriteOp.installTemplate`) before any segment uses it;
/// 3. an empty clone of the template takes the vectors under their local offsets as ids, and the
///    segment's recall calibration is measured from them (`RecallCalibration.measure`);
/// 4. the file is written (temporary name, fsync, rename) and its checksum kept;
/// 5. `WriteOp.publishIndex` records the segment in the manifest and swaps the IVF lists in for
///    the vectors in memory, in one commit: a crash before it leaves an unnamed file that the next
///    open deletes, a crash after it a named, complete file.
///
/// Invariants: a segment is searched exactly until step 5 and through its lists from then on,
/// never neither; the local row of every row is the same before and after, so tombstones and the
/// id map need no rewrite. On failure the segment is `sealed` again and the error goes to the
/// scheduler, which retries later.
///
/// Rejected: one quantizer trained per segment. Every segment would need its own coarse
/// assignment per query and compaction would have to reassign rows; with one template per
/// generation a query is assigned once per generation and segments merge without reassignment
/// (docs/architecture.md, "Segments").
struct IndexBuilder: Sendable {
    let context: BackgroundContext

    /// k-means iterations when training a template.
    static let trainingIterations = 20
    /// Training points per list (FAISS needs at least 39; more buys little).
    static let trainingPointsPerList = 100

    /// Indexes a sealed segment and publishes it. Does nothing when the segment is gone or no
    /// longer sealed (compacted, dropped, or built by an earlier job).
    ///
    /// - Returns: whether the segment was indexed.
    func build(_ collection: CollectionState, _ id: SegmentID) async throws(QuiverError) -> Bool {
        // 1. Capture. Only the phase flag changes here; it does not affect how writes are planned.
        let captured: (block: VectorBlock, columns: AppendingColumns, count: Int, template: Template?, rows: Int, createdAt: Int64)? =
            collection.data.withLock { data in
                guard let segment = data.segment(id), segment.phase == .sealed, case .exact(let block, let columns) = segment.storage
                else {
                    return nil
                }
                data.setPhase(.indexing, of: id)
                return (block, columns, segment.count, data.currentTemplate, data.rowCount, segment.createdAtMilliseconds)
            }
        guard let captured else { return false }
        guard captured.count > 0 else {
            collection.data.withLock { data in if data.segment(id)?.phase == .indexing { data.setPhase(.sealed, of: id) } }
            return false
        }
        do throws(QuiverError) {
            try await build(collection, id, captured)
            return true
        } catch {
            collection.data.withLock { data in
                if data.segment(id)?.phase == .indexing { data.setPhase(.sealed, of: id) }
            }
            throw error
        }
    }

    private func build(
        _ collection: CollectionState, _ id: SegmentID,
        _ captured: (block: VectorBlock, columns: AppendingColumns, count: Int, template: Template?, rows: Int, createdAt: Int64)
    ) async throws(QuiverError) {
        let settings = collection.schema.index
        // 2. Template.
        var template = captured.template
        if template == nil || Self.needsRetraining(template!.record, rows: captured.rows, settings: settings) {
            template = try await train(collection, from: captured.block, count: captured.count, totalRows: captured.rows, after: template)
        }
        let started = ContinuousClock.now
        let path = context.files.path(collection.stored.id, id)
        let generation = template!.record.generation
        let base = template!.index
        let compress = settings.compressFiles
        let settingsDimension = collection.schema.dimension
        let innerProduct = collection.schema.metric != .l2
        let stopping = context.stopping
        // 3–4. Lists, calibration and file.
        let rows = try await context.thread.run { () throws(QuiverError) -> IndexedRows in
            let index = try base.emptyClone()
            try captured.block.withVectors(count: captured.count) { (vectors) throws(QuiverError) in
                try index.add(vectors, ids: (0..<Int64(captured.count)).map { $0 })
            }
            let calibration = try captured.block.withVectors(count: captured.count) { (vectors) throws(QuiverError) in
                try RecallCalibration.measure(
                    vectors: vectors, dimension: settingsDimension, innerProduct: innerProduct, template: base, index: index,
                    flatCodes: settings.codes == .flat, shouldStop: { stopping.isSet })
            }
            let (labels, rowIDs) = captured.block.ids(count: captured.count)
            let checksum = try SegmentFile(rowIDs: rowIDs, labels: labels, index: index).write(to: path, compress: compress)
            let record = SegmentRecord(
                id: id, file: "\(id.rawValue).ivf", checksum: checksum, rows: captured.count,
                rowRanges: RowRange.covering(rowIDs), template: generation, createdAtMilliseconds: captured.createdAt,
                indexedAtMilliseconds: SegmentState.nowMilliseconds(),
                buildMilliseconds: Int64((ContinuousClock.now - started).milliseconds), calibration: calibration)
            return IndexedRows(index: index, rowIDs: rowIDs, labels: labels, record: record, fields: captured.columns.frozen())
        }
        // 5. Publication.
        if case .failure(let error) = await context.commits.submit(.publishIndex(collection, rows)) {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        context.statistics.indexBuilds.add(1, ordering: .relaxed)
        EngineMetrics.indexBuild.recordMilliseconds(rows.record.buildMilliseconds)
        context.logger.info(
            "segment indexed",
            metadata: [
                "collection": "\(collection.name)", "segment": "\(id.rawValue)", "rows": "\(captured.count)",
                "duration_ms": "\(rows.record.buildMilliseconds)",
            ])
    }

    /// Retrain when the collection holds far more rows than the template was trained on and nlist
    /// is chosen automatically: the lists would grow long and the centroids stale. Only segments
    /// built from then on use the new template; existing ones keep theirs until compaction rewrites
    /// them for its own reasons, and search assigns queries once per template in use.
    static func needsRetraining(_ record: TemplateRecord, rows: Int, settings: IndexSettings) -> Bool {
        settings.nlist == nil && rows > 16 * record.trainedRows && IndexSettings.nlist(forRows: rows) > record.nlist
    }

    private func train(
        _ collection: CollectionState, from block: VectorBlock, count: Int, totalRows: Int, after previous: Template?
    ) async throws(QuiverError) -> Template {
        let schema = collection.schema
        let nlist = min(schema.index.nlist ?? IndexSettings.nlist(forRows: max(count, totalRows)), count)
        let sample = min(count, nlist * Self.trainingPointsPerList)
        let generation = (previous?.record.generation ?? 0) + (previous == nil ? 0 : 1)
        let started = ContinuousClock.now
        let index = try await context.thread.run { () throws(QuiverError) -> IVFIndex in
            let stride = max(1, count / sample)
            let vectors = try block.withVectors(count: count) { (all) throws(QuiverError) -> [Float] in
                var picked: [Float] = []
                picked.reserveCapacity(sample * schema.dimension)
                var row = 0
                while row < count, picked.count < sample * schema.dimension {
                    picked.append(contentsOf: all[(row * schema.dimension)..<((row + 1) * schema.dimension)])
                    row += stride
                }
                return picked
            }
            return try IVFIndex.train(
                innerProduct: schema.metric != .l2, dimension: schema.dimension, nlist: nlist, codes: schema.index.codes,
                spherical: schema.metric == .cosine, vectors: vectors, iterations: Self.trainingIterations, seed: Int(generation) + 1)
        }
        let record = TemplateRecord(
            generation: generation, nlist: nlist, codes: schema.index.codes, trainedRows: max(count, totalRows),
            trainedAtMilliseconds: SegmentState.nowMilliseconds(), trainMilliseconds: Int64((ContinuousClock.now - started).milliseconds))
        let template = Template(record: record, index: index)
        if case .failure(let error) = await context.commits.submit(.installTemplate(collection, template)) { throw error }
        context.statistics.templateTrainings.add(1, ordering: .relaxed)
        context.logger.info(
            "template trained",
            metadata: [
                "collection": "\(collection.name)", "generation": "\(generation)", "nlist": "\(nlist)", "sample": "\(sample)",
                "duration_ms": "\(record.trainMilliseconds)",
            ])
        return template
    }
}
