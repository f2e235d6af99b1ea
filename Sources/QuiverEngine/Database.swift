import Foundation
import Logging
import QuiverCore
import QuiverIndex
import QuiverStorage
import Synchronization

/// A Quiver database: collections of vectors with typed fields, durable in RocksDB, searched in
/// memory.
///
/// All methods are safe to call concurrently. Writes are serialized through one commit queue
/// (group commit); a write's method returns only once the write is durable under the database's
/// `SyncPolicy` and visible to every later read. Reads work on a consistent view taken when they
/// start and never wait for writes to finish syncing.
///
/// Open with `Database.open(path:options:)`; call `close()` before the process exits so that the
/// next open replays no WAL. (Skipping it loses nothing that was acknowledged.)
public final class Database: Sendable {
    public let path: String
    let store: Store
    let registry: CollectionRegistry
    let commits: CommitQueue
    let readers: BlockingPool
    let maintenance: BlockingPool
    /// Opened with `DatabaseOptions.bulkLoad`.
    let bulkLoad: Bool
    /// Index builds, compaction, old segments' seals, reclaiming dropped collections.
    let background: BackgroundScheduler
    /// The index files, and the deletions a backup holds back.
    let files: SegmentFiles
    let logger: Logger
    let plannerSettings: PlannerSettings
    /// `DatabaseOptions.resultBytesMax`.
    let resultBytesMax: Int
    private let lifecycle = Mutex(Lifecycle())

    private struct Lifecycle {
        var isOpen = true
        var inFlight = 0
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    init(store: Store, registry: CollectionRegistry, options: DatabaseOptions, statistics: EngineStatistics) {
        path = store.directory.path
        self.store = store
        self.registry = registry
        readers = BlockingPool(threads: options.searchThreads)
        maintenance = BlockingPool(threads: 1, niceness: options.maintenanceNiceness)
        logger = options.logger
        plannerSettings = options.planner
        resultBytesMax = max(1, options.resultBytesMax)
        bulkLoad = options.bulkLoad
        files = SegmentFiles(directory: store.directory)
        // The commit queue tells the scheduler about sealed segments and dropped collections; the
        // background jobs publish through the commit queue. The box breaks the cycle at
        // construction.
        let box = SchedulerBox()
        commits = CommitQueue(
            store: store, registry: registry, policy: options.syncPolicy, statistics: statistics,
            afterCommit: { box.scheduler?.committed($0) })
        background = BackgroundScheduler(
            registry: registry,
            context: BackgroundContext(
                store: store, commits: commits, thread: maintenance, files: files, statistics: statistics, logger: options.logger),
            deferBuilds: options.deferIndexing, retryDelay: options.maintenanceRetryDelay)
        box.set(background)
        if options.backgroundWork { background.start() }
    }

    /// Counters of the write path since open.
    public var statistics: DatabaseStatistics { commits.statistics.snapshot }

    /// Bytes of RocksDB's SST files on disk (the WAL not included).
    public var diskBytes: Int { store.sstBytes }

    // MARK: Lifecycle

    /// Stops accepting calls, waits for the calls in flight, flushes RocksDB's memtables and
    /// closes it, releasing the directory lock. Idempotent. A flush that fails (a full disk, a
    /// failing device) is logged and does not fail the close: the WAL holds every acknowledged
    /// write and the next open replays it.
    public func close() async throws(QuiverError) {
        let wasOpen = lifecycle.withLock { state in
            defer { state.isOpen = false }
            return state.isOpen
        }
        guard wasOpen else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let drained = lifecycle.withLock { state in
                if state.inFlight == 0 { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if drained { continuation.resume() }
        }
        await background.shutdown()
        await commits.shutdown()
        await readers.shutdown()
        await maintenance.shutdown()
        registry.removeAll()
        if let error = store.close() {
            logger.warning(
                "memtables not flushed; the next open replays them from the WAL (nothing acknowledged is lost)",
                metadata: ["path": "\(path)", "error": "\(error.message)"])
        }
        logger.info("database closed", metadata: ["path": "\(path)"])
    }

    /// Runs one public call, refusing it once `close` has begun and letting `close` wait for it.
    func operation<T: Sendable>(_ body: () async throws(QuiverError) -> T) async throws(QuiverError) -> T {
        try lifecycle.withLock { (state) throws(QuiverError) in
            guard state.isOpen else { throw QuiverError.closed }
            state.inFlight += 1
        }
        defer {
            let waiters = lifecycle.withLock { state in
                state.inFlight -= 1
                guard state.inFlight == 0 else { return [CheckedContinuation<Void, Never>]() }
                defer { state.drainWaiters = [] }
                return state.drainWaiters
            }
            waiters.forEach { $0.resume() }
        }
        return try await body()
    }

    func submit(_ op: WriteOp) async throws(QuiverError) -> WriteOutcome {
        try await commits.submit(op).get()
    }

    // MARK: Collections

    /// Creates a collection.
    ///
    /// - Throws: `invalidArgument` for a bad name, dimension or field list; `alreadyExists`.
    public func createCollection(_ schema: CollectionSchema) async throws(QuiverError) -> CollectionInfo {
        try await operation { () async throws(QuiverError) -> CollectionInfo in
            try schema.validate()
            guard case .created(let collection) = try await submit(.create(schema)) else {
                preconditionFailure("create produced another outcome")
            }
            logger.info("collection created", metadata: ["collection": "\(schema.name)", "dimension": "\(schema.dimension)"])
            return info(collection)
        }
    }

    /// Drops a collection and all of its data.
    ///
    /// - Throws: `notFound`.
    public func dropCollection(_ name: String) async throws(QuiverError) {
        try await operation { () async throws(QuiverError) in
            _ = try await submit(.drop(name: name))
            logger.info("collection dropped", metadata: ["collection": "\(name)"])
        }
    }

    /// Every collection, sorted by name.
    public func listCollections() throws(QuiverError) -> [CollectionInfo] {
        try checkOpen()
        return registry.all().map(info)
    }

    /// - Throws: `notFound`.
    public func describeCollection(_ name: String) throws(QuiverError) -> CollectionInfo {
        try checkOpen()
        return info(try registry.require(name))
    }

    /// The collection's schema: a lookup, without the segment figures (and index file sizes)
    /// that `describeCollection` gathers.
    ///
    /// - Throws: `notFound`.
    public func schema(of name: String) throws(QuiverError) -> CollectionSchema {
        try checkOpen()
        return try registry.require(name).schema
    }

    private func checkOpen() throws(QuiverError) {
        guard lifecycle.withLock({ $0.isOpen }) else { throw QuiverError.closed }
    }

    private func info(_ collection: CollectionState) -> CollectionInfo {
        let codes = collection.schema.index.codes
        var (rows, memory, segments, nlist) = collection.data.withLock { data in
            let nlist = data.currentTemplate?.record.nlist
            return (data.rowCount, data.memoryBytes, data.segments.map { $0.info(nlist: nlist, codes: codes) } + data.droppedSegments(), nlist)
        }
        for i in segments.indices where segments[i].phase == .indexed {
            let attributes = try? FileManager.default.attributesOfItem(atPath: files.path(collection.stored.id, segments[i].id))
            segments[i].diskBytes = (attributes?[.size] as? NSNumber)?.intValue
        }
        return CollectionInfo(
            schema: collection.schema, rows: rows, memoryBytes: memory, createdAtMilliseconds: collection.stored.createdAtMilliseconds,
            segments: segments, pending: background.isPending(collection), nlist: nlist)
    }

    // MARK: Segments

    /// Seals the collection's growing segment now (if it has rows), so that it gets indexed
    /// without waiting for it to fill up or age.
    public func seal(_ name: String) async throws(QuiverError) {
        try await operation { () async throws(QuiverError) in
            _ = try await submit(.seal(try registry.require(name)))
        }
    }

    /// Compacts the collection now: rewrites every indexed segment with deleted rows, merges small
    /// ones. Runs in the background; `waitForBackgroundWork` waits for it.
    public func compact(_ name: String) async throws(QuiverError) {
        try await operation { () async throws(QuiverError) in
            _ = background.schedule(.compact(try registry.require(name), force: true))
        }
    }

    /// Starts the index builds that `DatabaseOptions.deferIndexing` held back (every sealed
    /// segment), and indexes as usual from then on. After a `bulkLoad` the memtables are flushed
    /// first: compaction, which may follow the builds, reads rows, and a read from a bulk-load
    /// memtable sorts a copy of it (an import that replaced 20,000 rows took 4 minutes to
    /// compact without this flush).
    public func indexDeferredSegments() async throws(QuiverError) {
        try await operation { () async throws(QuiverError) in
            if bulkLoad {
                let store = self.store
                try await maintenance.run { () throws(QuiverError) in try store.flush() }
            }
            background.resumeBuilds()
        }
    }

    /// Waits until every sealed segment is indexed and no background work is queued or running.
    public func waitForBackgroundWork() async throws(QuiverError) {
        try await operation { () async throws(QuiverError) in await background.waitUntilIdle() }
    }

    // MARK: Writes

    /// Inserts or replaces a batch of records, atomically: either every record is written or
    /// none is.
    ///
    /// - Throws: `invalidArgument` naming the first bad record (wrong dimension, non-finite or, for
    ///   cosine, zero vector, unknown or mistyped field, missing required field, duplicate id,
    ///   empty or oversized batch); `notFound` for a missing collection. Nothing is written then.
    public func upsert(_ name: String, _ records: [Record]) async throws(QuiverError) -> UpsertResult {
        try await operation { () async throws(QuiverError) -> UpsertResult in
            let collection = try registry.require(name)
            let validated = try collection.schema.validate(batch: records)
            guard case .upserted(let inserted, let replaced) = try await submit(.upsert(collection, validated)) else {
                preconditionFailure("upsert produced another outcome")
            }
            EngineMetrics.rowsIngested.increment(by: inserted + replaced)
            return UpsertResult(inserted: inserted, replaced: replaced)
        }
    }

    /// Deletes records by id, atomically. Ids without a live record are ignored.
    ///
    /// - Returns: how many records were deleted.
    /// - Throws: `invalidArgument` for an empty or oversized id list; `notFound` for a missing
    ///   collection.
    public func delete(_ name: String, ids: [RecordID]) async throws(QuiverError) -> Int {
        try await operation { () async throws(QuiverError) -> Int in
            let collection = try registry.require(name)
            try Self.checkIDs(ids, collection: name)
            var seen = Set<RecordID>()
            let unique = ids.filter { seen.insert($0).inserted }
            guard case .deleted(let count) = try await submit(.delete(collection, unique, versions: nil)) else {
                preconditionFailure("delete produced another outcome")
            }
            return count
        }
    }

    static func checkIDs(_ ids: [RecordID], collection: String) throws(QuiverError) {
        guard !ids.isEmpty else {
            throw .invalid(.emptyBatch, "collection \"\(collection)\": no ids given", collection: collection, field: "ids")
        }
        guard ids.count <= Limits.idsPerCallMax else {
            throw .invalid(
                .limitExceeded,
                "collection \"\(collection)\": at most \(Limits.idsPerCallMax) ids per call, got \(ids.count)",
                collection: collection, field: "ids", value: String(ids.count))
        }
    }
}

/// Lets the commit queue reach the scheduler that is created after it.
final class SchedulerBox: Sendable {
    private let value = Mutex<BackgroundScheduler?>(nil)
    var scheduler: BackgroundScheduler? { value.withLock { $0 } }
    func set(_ scheduler: BackgroundScheduler) { value.withLock { $0 = scheduler } }
}
