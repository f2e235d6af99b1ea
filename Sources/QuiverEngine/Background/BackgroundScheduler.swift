import Foundation
import Logging
import QuiverCore
import QuiverStorage
import Synchronization

/// What every background job works with: the store it reads rows from, the commit queue its
/// results are published through, the maintenance thread its CPU work runs on, the index files,
/// the counters and the log.
struct BackgroundContext: Sendable {
    let store: Store
    let commits: CommitQueue
    let thread: BlockingPool
    let files: SegmentFiles
    let statistics: EngineStatistics
    let logger: Logger
    /// Set when shutdown begins: long steps of a running job (a calibration) check it and give
    /// up, so that closing does not wait for them; the job runs again after the next open.
    let stopping = StopFlag()
}

/// A flag one thread sets and others poll.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

/// The background work of a database: which job runs when, retries, and waiting for it.
///
/// Jobs:
/// - `build` a sealed segment's index (`IndexBuilder`), `compact` a collection and `rebuild` one
///   segment (`Compactor`), `reclaim` a dropped collection's key range and files: one at a time,
///   in the order scheduled, on one worker task whose CPU-heavy steps run on the database's single
///   maintenance thread, with FAISS and OpenBLAS limited to one thread each. Background work so
///   uses at most one core and searches always keep the other (docs/architecture.md, "Threads").
/// - `seal` a growing segment that has grown old: only a commit-queue op, so it runs at once
///   beside the worker rather than waiting behind a build of minutes; at most one per collection.
///
/// Where jobs come from: the commit queue after each group that sealed segments or dropped a
/// collection (`committed`), the database's calls (compact, rebuild, the end of deferred
/// indexing), and a check once a second (`start`): growing segments past their age, sealed
/// segments without a build, compaction the policy wants, indexed segments without a recall
/// calibration (written by a version before calibrations: rebuilt). A job equal to one queued or running is
/// not queued again. A build or compaction that fails is logged, counted and retried by that check
/// after `retryDelay` (the segment stays searchable exactly meanwhile; a temporary file it left
/// is removed by the build itself or, after a crash, by the next open).
///
/// Every result is published through the commit queue (`WriteOp.publishIndex`, `.replaceSegments`,
/// `.installTemplate`, `.seal`) after its file is durable: the manifest write and the in-memory
/// swap are ordered with the writes, and a crash at any point leaves either the old state or the
/// new one (an unreferenced file is deleted on the next open).
///
/// Waiting is event-driven: `waitUntilIdle` and `shutdown` suspend on continuations that the
/// scheduler resumes when a job ends. Rejected: polling the state (every 10 ms for idle, 5 ms for
/// shutdown, as the first version did), which woke a waiting test or import a hundred times a
/// second for minutes and still answered up to 10 ms late. After `shutdown` begins, `schedule`
/// refuses every job (returns `false`), the queue is dropped, and `shutdown` returns once the
/// running job, any seal in flight and the once-a-second check have ended; nothing started by the
/// scheduler outlives it. (The check's seals used to be untracked tasks: one that reached the
/// commit queue after it had shut down would have waited forever.)
final class BackgroundScheduler: Sendable {
    enum Job: Sendable {
        case build(CollectionState, SegmentID)
        case compact(CollectionState, force: Bool)
        /// Rewrite one indexed segment from storage with the current template (on request).
        case rebuild(CollectionState, SegmentID)
        case reclaim(CollectionID)
        /// Seal the collection's growing segment because it is old.
        case seal(CollectionState)

        var collection: CollectionState? {
            switch self {
            case .build(let collection, _), .compact(let collection, _), .rebuild(let collection, _), .seal(let collection): collection
            case .reclaim: nil
            }
        }

        func isSame(as other: Job) -> Bool {
            switch (self, other) {
            case (.build(let c1, let s1), .build(let c2, let s2)): c1 === c2 && s1 == s2
            case (.compact(let c1, _), .compact(let c2, _)): c1 === c2
            case (.rebuild(let c1, let s1), .rebuild(let c2, let s2)): c1 === c2 && s1 == s2
            case (.reclaim(let a), .reclaim(let b)): a == b
            case (.seal(let c1), .seal(let c2)): c1 === c2
            default: false
            }
        }
    }

    private struct State {
        var queue: [Job] = []
        var running: Job?
        var workerActive = false
        /// Collections whose age seal is in flight.
        var sealing: [ObjectIdentifier] = []
        var stopping = false
        var ticker: Task<Void, Never>?
        /// When a failed build or compaction of a collection may be retried.
        var retryAfter: [ObjectIdentifier: ContinuousClock.Instant] = [:]
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var stopWaiters: [CheckedContinuation<Void, Never>] = []

        var isQuiet: Bool { queue.isEmpty && running == nil && !workerActive && sealing.isEmpty }
    }

    private let state = Mutex(State())
    private let registry: CollectionRegistry
    private let context: BackgroundContext
    private let builder: IndexBuilder
    private let compactor: Compactor
    /// Builds of sealed segments are held back (`DatabaseOptions.deferIndexing`).
    private let buildsDeferred: Atomic<Bool>

    /// A failed job is retried after this long (`DatabaseOptions.maintenanceRetryDelay`).
    private let retryDelay: Duration
    /// How often the periodic check runs.
    static let checkInterval: Duration = .seconds(1)

    init(registry: CollectionRegistry, context: BackgroundContext, deferBuilds: Bool, retryDelay: Duration) {
        self.registry = registry
        self.retryDelay = retryDelay
        self.context = context
        buildsDeferred = Atomic(deferBuilds)
        builder = IndexBuilder(context: context)
        compactor = Compactor(context: context)
    }

    // MARK: Scheduling

    /// Starts the once-a-second check (old growing segments, unbuilt sealed segments, compaction).
    func start() {
        let ticker = Task { [weak self] in
            while !Task.isCancelled, let self {
                self.checkAll()
                try? await Task.sleep(for: Self.checkInterval)
            }
        }
        let refused = state.withLock { state -> Bool in
            guard !state.stopping, state.ticker == nil else { return true }
            state.ticker = ticker
            return false
        }
        if refused { ticker.cancel() }
    }

    /// Queues `job` (or, for a seal, starts it). Returns `false` when it is refused: after
    /// `shutdown` began, for a build while builds are deferred, or when the same job is already
    /// queued or running (it will do the work).
    @discardableResult
    func schedule(_ job: Job) -> Bool {
        if case .build = job, buildsDeferred.load(ordering: .relaxed) { return false }
        enum Start { case none, worker, seal(CollectionState) }
        let start = state.withLock { state -> Start? in
            guard !state.stopping else { return nil }
            if case .seal(let collection) = job {
                guard !state.sealing.contains(ObjectIdentifier(collection)) else { return nil }
                state.sealing.append(ObjectIdentifier(collection))
                return .seal(collection)
            }
            guard !state.queue.contains(where: { $0.isSame(as: job) }), !(state.running.map { $0.isSame(as: job) } ?? false) else {
                return nil
            }
            state.queue.append(job)
            guard !state.workerActive else { return Start.none }
            state.workerActive = true
            return .worker
        }
        switch start {
        case nil: return false
        case .none?: return true
        case .worker?: Task { await self.work() }
        case .seal(let collection)?:
            let commits = context.commits
            Task {
                _ = await commits.submit(.seal(collection))
                self.ended { $0.sealing.removeAll { $0 == ObjectIdentifier(collection) } }
            }
        }
        return true
    }

    /// Called after each commit group that sealed segments or dropped collections.
    func committed(_ effects: CommitQueue.CommitEffects) {
        for (collection, segment) in effects.sealed {
            context.statistics.seals.add(1, ordering: .relaxed)
            schedule(.build(collection, segment))
        }
        for collection in effects.dropped { schedule(.reclaim(collection.stored.id)) }
    }

    /// Ends `deferIndexing`: schedules a build for every sealed segment.
    func resumeBuilds() {
        buildsDeferred.store(false, ordering: .relaxed)
        for collection in registry.all() {
            let unbuilt = collection.data.withLock { data in data.segments.filter { $0.phase == .sealed }.map(\.id) }
            for id in unbuilt { schedule(.build(collection, id)) }
        }
    }

    /// Whether background work for the collection is queued or running, or a sealed segment waits
    /// to be indexed.
    func isPending(_ collection: CollectionState) -> Bool {
        let scheduled = state.withLock { state in
            state.sealing.contains(ObjectIdentifier(collection))
                || (state.queue + (state.running.map { [$0] } ?? [])).contains { $0.collection === collection }
        }
        return scheduled || Self.hasUnindexedSegments(collection)
    }

    private static func hasUnindexedSegments(_ collection: CollectionState) -> Bool {
        collection.data.withLock { data in data.segments.contains { $0.phase == .sealed || $0.phase == .indexing } }
    }

    // MARK: Waiting

    /// Waits until no job is queued or running and no segment waits to be indexed (or until
    /// `shutdown`). A sealed segment whose build failed keeps it waiting until a retry succeeds.
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            state.withLock { $0.idleWaiters.append(continuation) }
            resumeIdleWaitersIfIdle()
        }
    }

    /// Stops taking jobs, drops the queue, and waits for the running job, the seals in flight and
    /// the periodic check to end.
    func shutdown() async {
        context.stopping.set()
        let ticker = state.withLock { state -> Task<Void, Never>? in
            state.stopping = true
            state.queue.removeAll()
            return state.ticker
        }
        ticker?.cancel()
        await ticker?.value
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                guard !state.isQuiet else { return true }
                state.stopWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Applies `change` to the state after a job or seal ended, and resumes whoever waits for
    /// the scheduler to be quiet.
    private func ended(_ change: (inout State) -> Void) {
        let stopWaiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            change(&state)
            guard state.stopping, state.isQuiet else { return [] }
            defer { state.stopWaiters = [] }
            return state.stopWaiters
        }
        stopWaiters.forEach { $0.resume() }
        resumeIdleWaitersIfIdle()
    }

    private func resumeIdleWaitersIfIdle() {
        guard state.withLock({ $0.isQuiet && !$0.idleWaiters.isEmpty }) else { return }
        // The collections' locks are taken outside the scheduler's, never inside it.
        guard !registry.all().contains(where: Self.hasUnindexedSegments) else { return }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.isQuiet else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        waiters.forEach { $0.resume() }
    }

    // MARK: The worker

    private func work() async {
        while let job = state.withLock({ state -> Job? in
            guard !state.stopping, !state.queue.isEmpty else {
                state.workerActive = false
                return nil
            }
            state.running = state.queue.removeFirst()
            return state.running
        }) {
            context.statistics.maintenanceStarted()
            await run(job)
            context.statistics.maintenanceFinished()
            ended { $0.running = nil }
        }
        ended { _ in }
    }

    private func run(_ job: Job) async {
        switch job {
        case .build(let collection, let id):
            do throws(QuiverError) {
                if try await builder.build(collection, id), Compactor.isDue(collection) {
                    schedule(.compact(collection, force: false))
                }
            } catch {
                failed(collection, "index build of \(id)", error)
            }
        case .compact(let collection, let force):
            do throws(QuiverError) {
                try await compactor.compact(collection, force: force)
            } catch {
                failed(collection, "compaction", error)
            }
        case .rebuild(let collection, let id):
            do throws(QuiverError) {
                try await compactor.rewrite(collection, [id])
            } catch {
                failed(collection, "rebuild of \(id)", error)
            }
        case .reclaim(let id):
            let (store, files) = (context.store, context.files)
            _ = try? await context.thread.run { () throws(QuiverError) in
                store.reclaimSpace(of: id)
                files.delete(files.directoryPath(id))
            }
        case .seal:
            preconditionFailure("seals run beside the worker")
        }
    }

    // MARK: The periodic check and retries

    private func checkAll() {
        for collection in registry.all() {
            let (age, unbuilt, uncalibrated) = collection.data.withLock { data in
                (
                    data.growingAge, data.segments.filter { $0.phase == .sealed }.map(\.id),
                    data.segments.filter(\.lacksCalibration).map(\.id)
                )
            }
            if let age, age >= .seconds(collection.schema.index.sealAfterSeconds) { schedule(.seal(collection)) }
            // While builds are deferred (a bulk load) nothing that reads rows runs either.
            guard retryAllowed(collection), !buildsDeferred.load(ordering: .relaxed) else { continue }
            for id in unbuilt { schedule(.build(collection, id)) }
            if Compactor.isDue(collection) { schedule(.compact(collection, force: false)) }
            // Segments indexed before calibrations existed: rewritten once, which measures one
            // (a rewrite rather than a calibration alone, because SQ8 and PQ lists do not hold
            // the vectors the calibration needs, and the rewrite reads them anyway).
            for id in uncalibrated { schedule(.rebuild(collection, id)) }
        }
    }

    private func retryAllowed(_ collection: CollectionState) -> Bool {
        state.withLock { state in
            guard let after = state.retryAfter[ObjectIdentifier(collection)] else { return true }
            return .now >= after
        }
    }

    /// A failed job of a collection that still exists: logged, counted, retried after
    /// `retryDelay`. (A dropped collection's jobs fail as a matter of course.)
    private func failed(_ collection: CollectionState, _ what: String, _ error: QuiverError) {
        guard registry.lookup(collection.name) === collection else { return }
        context.statistics.maintenanceFailures.add(1, ordering: .relaxed)
        state.withLock { $0.retryAfter[ObjectIdentifier(collection)] = .now + retryDelay }
        context.logger.error("\(what) failed", metadata: ["collection": "\(collection.name)", "error": "\(error.message)"])
    }
}
