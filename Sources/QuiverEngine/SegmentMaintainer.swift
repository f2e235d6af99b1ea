import Foundation
import Logging
import QuiverCore
import QuiverFilter
import QuiverIndex
import QuiverStorage
import Synchronization

/// The background worker of a database: builds indexes for sealed segments, trains templates,
/// compacts, seals old growing segments and reclaims dropped collections.
///
/// One worker per database runs one task at a time, and its CPU-heavy steps (k-means, adding
/// vectors to an IVF index, writing files) run on the database's single maintenance thread with
/// FAISS and OpenBLAS limited to one thread each, so background work uses at most one core and
/// searches always keep the other (docs/architecture.md, "Threads").
///
/// Every result is published through the commit queue (`WriteOp.publishIndex`,
/// `.replaceSegments`, `.installTemplate`), after its file is durable: the manifest write and the
/// in-memory swap are ordered with the writes, and a crash at any point leaves either the old
/// state or the new one (an unreferenced file is deleted on the next open).
final class SegmentMaintainer: Sendable {
    enum Task: Sendable {
        case build(CollectionState, SegmentID)
        case compact(CollectionState, force: Bool)
        /// Rewrite one indexed segment from storage with the current template (on request).
        case rebuild(CollectionState, SegmentID)
        case reclaim(CollectionID)
    }

    private struct State {
        var queue: [Task] = []
        var running: Task?
        var workerActive = false
        var stopping = false
        /// When a failed build or compaction of a collection may be retried.
        var retryAfter: [ObjectIdentifier: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())
    private let store: Store
    private let registry: CollectionRegistry
    private let commits: CommitQueue
    private let thread: BlockingPool
    private let statistics: EngineStatistics
    private let logger: Logger
    private let tick = Mutex<_Concurrency.Task<Void, Never>?>(nil)
    /// Backups in progress, and the file deletions they hold back: a backup copies the index
    /// files its checkpoint's manifests name, and compaction or a drop must not delete them first.
    private let fileHolds = Mutex<(count: Int, deferred: [String])>((0, []))
    /// Builds of sealed segments are held back (`DatabaseOptions.deferIndexing`).
    let buildsDeferred = Atomic<Bool>(false)

    /// A segment is rewritten once more than this share of its rows is deleted.
    static let deletedShareMax = 0.2
    /// Indexed segments with fewer live rows than this share of the segment size are merged.
    static let smallShare = 0.5
    /// A failed task is retried after this long.
    static let retryDelay: Duration = .seconds(30)
    /// k-means iterations when training a template.
    static let trainingIterations = 20
    /// Training points per list (FAISS needs at least 39; more buys little).
    static let trainingPointsPerList = 100

    init(store: Store, registry: CollectionRegistry, commits: CommitQueue, thread: BlockingPool, statistics: EngineStatistics, logger: Logger) {
        self.store = store
        self.registry = registry
        self.commits = commits
        self.thread = thread
        self.statistics = statistics
        self.logger = logger
    }

    // MARK: File deletion

    /// Holds back index-file deletions until `releaseFiles` (for a backup).
    func holdFiles() { fileHolds.withLock { $0.count += 1 } }

    func releaseFiles() {
        let paths = fileHolds.withLock { holds -> [String] in
            holds.count -= 1
            guard holds.count == 0 else { return [] }
            defer { holds.deferred = [] }
            return holds.deferred
        }
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Deletes a file or directory now, or once no backup holds files.
    private func delete(_ path: String) {
        let now = fileHolds.withLock { holds -> Bool in
            guard holds.count > 0 else { return true }
            holds.deferred.append(path)
            return false
        }
        if now { try? FileManager.default.removeItem(atPath: path) }
    }

    // MARK: Scheduling

    /// Starts the once-a-second check (old growing segments, unbuilt sealed segments, compaction).
    func start() {
        let task = _Concurrency.Task { [weak self] in
            while let self, !self.isStopping {
                self.checkAll()
                try? await _Concurrency.Task.sleep(for: .seconds(1))
            }
        }
        tick.withLock { $0 = task }
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    func schedule(_ task: Task) {
        let start = state.withLock { state -> Bool in
            guard !state.stopping, !state.queue.contains(where: { Self.same($0, task) }) else { return false }
            if let running = state.running, Self.same(running, task) { return false }
            state.queue.append(task)
            guard !state.workerActive else { return false }
            state.workerActive = true
            return true
        }
        if start { _Concurrency.Task { await self.work() } }
    }

    /// Whether background work for the collection is queued or running, or a sealed segment waits
    /// to be indexed.
    func isPending(_ collection: CollectionState) -> Bool {
        let queued = state.withLock { state in
            (state.queue + (state.running.map { [$0] } ?? [])).contains { Self.collection(of: $0) === collection }
        }
        return queued || collection.data.withLock { data in data.segments.contains { $0.phase == .sealed || $0.phase == .indexing } }
    }

    /// Ends `deferIndexing`: schedules a build for every sealed segment.
    func resumeBuilds() {
        buildsDeferred.store(false, ordering: .relaxed)
        for collection in registry.all() {
            let unbuilt = collection.data.withLock { data in data.segments.filter { $0.phase == .sealed }.map(\.id) }
            for id in unbuilt { schedule(.build(collection, id)) }
        }
    }

    /// Waits until no task is queued or running and no segment waits to be indexed.
    func waitUntilIdle() async {
        while true {
            let idle = state.withLock { $0.queue.isEmpty && $0.running == nil }
            if idle && !registry.all().contains(where: isPending) { return }
            try? await _Concurrency.Task.sleep(for: .milliseconds(10))
        }
    }

    /// Stops taking tasks and waits for the running one to finish.
    func shutdown() async {
        state.withLock {
            $0.stopping = true
            $0.queue.removeAll()
        }
        tick.withLock { $0?.cancel() }
        while state.withLock({ $0.workerActive }) { try? await _Concurrency.Task.sleep(for: .milliseconds(5)) }
    }

    /// Called after each commit group that sealed segments or dropped collections.
    func committed(_ effects: CommitQueue.CommitEffects) {
        for (collection, segment) in effects.sealed {
            statistics.seals.add(1, ordering: .relaxed)
            if !buildsDeferred.load(ordering: .relaxed) { schedule(.build(collection, segment)) }
        }
        for collection in effects.dropped { schedule(.reclaim(collection.stored.id)) }
    }

    /// The periodic check.
    private func checkAll() {
        for collection in registry.all() {
            let settings = collection.schema.index
            let (age, unbuilt, wantsCompaction) = collection.data.withLock { data in
                (
                    data.growingAge,
                    data.segments.filter { $0.phase == .sealed }.map(\.id),
                    !Self.compactionGroups(data, force: false).isEmpty
                )
            }
            if let age, age >= .seconds(settings.sealAfterSeconds) {
                let commits = self.commits
                _Concurrency.Task { _ = await commits.submit(.seal(collection)) }
            }
            guard retryAllowed(collection), !buildsDeferred.load(ordering: .relaxed) else { continue }
            for id in unbuilt { schedule(.build(collection, id)) }
            if wantsCompaction { schedule(.compact(collection, force: false)) }
        }
    }

    private func retryAllowed(_ collection: CollectionState) -> Bool {
        state.withLock { state in
            guard let after = state.retryAfter[ObjectIdentifier(collection)] else { return true }
            return .now >= after
        }
    }

    private func failed(_ collection: CollectionState, _ what: String, _ error: QuiverError) {
        statistics.maintenanceFailures.add(1, ordering: .relaxed)
        state.withLock { $0.retryAfter[ObjectIdentifier(collection)] = .now + Self.retryDelay }
        logger.error("\(what) failed", metadata: ["collection": "\(collection.name)", "error": "\(error.message)"])
    }

    private func work() async {
        while let task = state.withLock({ state -> Task? in
            guard !state.stopping, !state.queue.isEmpty else {
                state.running = nil
                state.workerActive = false
                return nil
            }
            state.running = state.queue.removeFirst()
            return state.running
        }) {
            statistics.maintenanceStarted()
            switch task {
            case .build(let collection, let id): await build(collection, id)
            case .compact(let collection, let force): await compact(collection, force: force)
            case .rebuild(let collection, let id):
                do throws(QuiverError) {
                    try await compact(collection, [id])
                } catch {
                    if registry.lookup(collection.name) === collection { failed(collection, "rebuild of \(id)", error) }
                }
            case .reclaim(let id): await reclaim(id)
            }
            statistics.maintenanceFinished()
        }
    }

    private static func collection(of task: Task) -> CollectionState? {
        switch task {
        case .build(let collection, _), .compact(let collection, _), .rebuild(let collection, _): collection
        case .reclaim: nil
        }
    }

    private static func same(_ a: Task, _ b: Task) -> Bool {
        switch (a, b) {
        case (.build(let c1, let s1), .build(let c2, let s2)): c1 === c2 && s1 == s2
        case (.compact(let c1, _), .compact(let c2, _)): c1 === c2
        case (.rebuild(let c1, let s1), .rebuild(let c2, let s2)): c1 === c2 && s1 == s2
        case (.reclaim(let a), .reclaim(let b)): a == b
        default: false
        }
    }

    // MARK: Building

    func filePath(_ collection: CollectionState, _ id: SegmentID) -> String {
        store.directory.segmentsPath(of: collection.stored.id) + "/\(id.rawValue).ivf"
    }

    /// Indexes a sealed segment: trains a template first when the collection has none (or has
    /// outgrown it), clones it, adds the segment's vectors under their local offsets, writes the
    /// file, and publishes.
    private func build(_ collection: CollectionState, _ id: SegmentID) async {
        let captured: (block: VectorBlock, columns: AppendingColumns, count: Int, template: Template?, rows: Int, createdAt: Int64)? =
            collection.data.withLock { data in
                // Only the phase flag changes here; it does not affect how writes are planned.
                guard let segment = data.segment(id), segment.phase == .sealed, case .exact(let block, let columns) = segment.storage
                else {
                    return nil
                }
                data.setPhase(.indexing, of: id)
                return (block, columns, segment.count, data.currentTemplate, data.rowCount, segment.createdAtMilliseconds)
            }
        guard let captured, captured.count > 0 else { return }
        let settings = collection.schema.index
        do throws(QuiverError) {
            var template = captured.template
            if template == nil || Self.needsRetraining(template!.record, rows: captured.rows, settings: settings) {
                template = try await train(collection, from: captured.block, count: captured.count, totalRows: captured.rows, after: template)
            }
            let started = ContinuousClock.now
            let path = filePath(collection, id)
            let generation = template!.record.generation
            let base = template!.index
            let compress = settings.compressFiles
            let rows = try await thread.run { () throws(QuiverError) -> IndexedRows in
                let index = try base.emptyClone()
                try captured.block.withVectors(count: captured.count) { (vectors) throws(QuiverError) in
                    try index.add(vectors, ids: (0..<Int64(captured.count)).map { $0 })
                }
                let (labels, rowIDs) = captured.block.ids(count: captured.count)
                let checksum = try SegmentFile(rowIDs: rowIDs, labels: labels, index: index).write(to: path, compress: compress)
                let record = SegmentRecord(
                    id: id, file: "\(id.rawValue).ivf", checksum: checksum, rows: captured.count,
                    rowRanges: Self.ranges(rowIDs), template: generation, createdAtMilliseconds: captured.createdAt,
                    indexedAtMilliseconds: SegmentState.nowMilliseconds(),
                    buildMilliseconds: Int64((ContinuousClock.now - started).milliseconds))
                return IndexedRows(index: index, rowIDs: rowIDs, labels: labels, record: record, fields: captured.columns.frozen())
            }
            if case .failure(let error) = await commits.submit(.publishIndex(collection, rows)) {
                try? FileManager.default.removeItem(atPath: path)
                throw error
            }
            statistics.indexBuilds.add(1, ordering: .relaxed)
            EngineMetrics.indexBuild.recordMilliseconds(rows.record.buildMilliseconds)
            logger.info(
                "segment indexed",
                metadata: [
                    "collection": "\(collection.name)", "segment": "\(id.rawValue)", "rows": "\(captured.count)",
                    "duration_ms": "\(rows.record.buildMilliseconds)",
                ])
            if collection.data.withLock({ !Self.compactionGroups($0, force: false).isEmpty }) {
                schedule(.compact(collection, force: false))
            }
        } catch {
            collection.data.withLock { data in
                if data.segment(id)?.phase == .indexing { data.setPhase(.sealed, of: id) }
            }
            if registry.lookup(collection.name) === collection { failed(collection, "index build of \(id)", error) }
        }
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
        let index = try await thread.run { () throws(QuiverError) -> IVFIndex in
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
        if case .failure(let error) = await commits.submit(.installTemplate(collection, template)) { throw error }
        statistics.templateTrainings.add(1, ordering: .relaxed)
        logger.info(
            "template trained",
            metadata: [
                "collection": "\(collection.name)", "generation": "\(generation)", "nlist": "\(nlist)", "sample": "\(sample)",
                "duration_ms": "\(record.trainMilliseconds)",
            ])
        return template
    }

    /// Inclusive row-id ranges of ascending row ids.
    static func ranges(_ rowIDs: [UInt64]) -> [[UInt64]] {
        var ranges: [[UInt64]] = []
        for id in rowIDs {
            if let last = ranges.last, last[1] + 1 == id { ranges[ranges.count - 1][1] = id } else { ranges.append([id, id]) }
        }
        return ranges
    }

    // MARK: Compaction

    /// The groups of indexed segments to replace: segments with more than `deletedShareMax` of
    /// their rows deleted are rewritten; small segments (fewer live rows than `smallShare` of the
    /// segment size) are merged, up to one segment's worth of rows per group. With `force`, every
    /// indexed segment with a deleted row is a candidate too. Outputs use the current template; a
    /// segment built from an older one is not rewritten for that alone, so a retraining never
    /// turns into a rebuild of the whole collection.
    static func compactionGroups(_ data: CollectionData, force: Bool) -> [[SegmentID]] {
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

    /// Compacts the collection now (on request, or by policy).
    private func compact(_ collection: CollectionState, force: Bool) async {
        let groups = collection.data.withLock { Self.compactionGroups($0, force: force) }
        for inputs in groups {
            do throws(QuiverError) {
                try await compact(collection, inputs)
            } catch {
                if registry.lookup(collection.name) === collection { failed(collection, "compaction of \(inputs)", error) }
                return
            }
        }
    }

    private func compact(_ collection: CollectionState, _ inputs: [SegmentID]) async throws(QuiverError) {
        let captured: (rows: [(rowID: UInt64, label: UInt64)], ranges: [[UInt64]], template: Template, output: SegmentID)? =
            collection.data.withLock { data in
                guard let template = data.currentTemplate else { return nil }
                var rows: [(rowID: UInt64, label: UInt64)] = []
                var ranges: [[UInt64]] = []
                for id in inputs {
                    guard let segment = data.segment(id), case .indexed(let indexed) = segment.storage else { return nil }
                    for row in 0..<segment.count where !segment.isDeleted(row) {
                        rows.append((indexed.rowIDs[row], indexed.labels[row]))
                    }
                    ranges += indexed.record.rowRanges
                }
                return (rows.sorted { $0.rowID < $1.rowID }, Self.merged(ranges), template, data.allocateSegmentID())
            }
        guard let captured else { return }
        let started = ContinuousClock.now
        let path = filePath(collection, captured.output)
        let store = self.store
        let stored = collection.stored
        let compress = collection.schema.index.compressFiles
        let output = try await thread.run { () throws(QuiverError) -> IndexedRows? in
            // The vectors and field values come from storage (SQ8 and PQ lists do not hold the
            // vectors exactly). Rows deleted since they were captured are missing there and are
            // left out.
            let snapshot = store.snapshot()
            let ids = captured.rows.map { RowID($0.rowID) }
            let vectors = try store.readVectors(of: stored, rows: ids, snapshot: snapshot)
            let values = try store.readFields(of: stored, rows: ids, snapshot: snapshot)
            var rowIDs: [UInt64] = []
            var labels: [UInt64] = []
            var flat: [Float] = []
            var columns = FieldColumns(schema: stored.schema, reservingCapacity: ids.count)
            for ((row, vector), fields) in zip(zip(captured.rows, vectors), values) {
                guard let vector else { continue }
                guard let fields else {
                    throw .corruption("collection \"\(stored.schema.name)\": row \(row.rowID) has a vector but no fields", collection: stored.schema.name)
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
            let checksum = try SegmentFile(rowIDs: rowIDs, labels: labels, index: index).write(to: path, compress: compress)
            let now = SegmentState.nowMilliseconds()
            let record = SegmentRecord(
                id: captured.output, file: "\(captured.output.rawValue).ivf", checksum: checksum, rows: rowIDs.count,
                rowRanges: captured.ranges, template: captured.template.record.generation, createdAtMilliseconds: now,
                indexedAtMilliseconds: now, buildMilliseconds: Int64((ContinuousClock.now - started).milliseconds))
            return IndexedRows(index: index, rowIDs: rowIDs, labels: labels, record: record, fields: SegmentFields(freezing: columns))
        }
        if case .failure(let error) = await commits.submit(.replaceSegments(collection, inputs: inputs, output: output)) {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        for id in inputs { delete(filePath(collection, id)) }
        statistics.compactions.add(1, ordering: .relaxed)
        EngineMetrics.compaction.record(duration: ContinuousClock.now - started)
        logger.info(
            "segments compacted",
            metadata: [
                "collection": "\(collection.name)", "inputs": "\(inputs.map(\.rawValue))",
                "output": "\(output.map { "\($0.record.id.rawValue)" } ?? "none")", "rows": "\(output?.rowIDs.count ?? 0)",
            ])
    }

    /// Sorted, coalesced union of inclusive ranges.
    static func merged(_ ranges: [[UInt64]]) -> [[UInt64]] {
        var result: [[UInt64]] = []
        for range in ranges.sorted(by: { $0[0] < $1[0] }) {
            if let last = result.last, range[0] <= last[1] + 1 {
                result[result.count - 1][1] = max(last[1], range[1])
            } else {
                result.append(range)
            }
        }
        return result
    }

    // MARK: Reclaiming

    private func reclaim(_ collection: CollectionID) async {
        let store = self.store
        _ = try? await thread.run { () throws(QuiverError) in
            store.reclaimSpace(of: collection)
            self.delete(store.directory.segmentsPath(of: collection))
        }
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
