#if canImport(Glibc)
import Glibc
#endif
import QuiverCore
import QuiverStorage
import Synchronization

/// The single writer of a database, with group commit.
///
/// Callers enqueue an op and await its outcome. The first caller to find the queue idle starts a
/// drain on the commit thread; the drain takes every op pending at that moment as one group,
/// writes it with one RocksDB `WriteBatch` (one WAL append, one fsync), applies it to memory and
/// resumes the callers, then repeats until the queue is empty. Writers arriving while a group is
/// being synced form the next group, so concurrent writers share fsyncs without anyone waiting on
/// a timer (LevelDB's `writers_` queue). Under `SyncPolicy.batch` the drain additionally waits up
/// to the window for more writers before taking a group.
///
/// Because one thread plans, writes and applies every group in order, memory always reflects a
/// prefix of the WAL, and the commit order is the order in which reads observe writes.
final class CommitQueue: Sendable {
    private struct Pending: Sendable {
        let op: WriteOp
        let continuation: CheckedContinuation<Result<WriteOutcome, QuiverError>, Never>
    }

    private struct State {
        var pending: [Pending] = []
        var pendingRecords = 0
        var firstPendingAt: ContinuousClock.Instant?
        var draining = false
    }

    private let state = Mutex(State())
    private let store: Store
    private let registry: CollectionRegistry
    private let policy: SyncPolicy
    private let commitThread: BlockingPool
    private let afterCommit: @Sendable (CommitEffects) -> Void
    let statistics: EngineStatistics

    /// What a committed group leaves for the background worker.
    struct CommitEffects: Sendable {
        /// Segments the group sealed (full, or on request): to be indexed.
        var sealed: [(CollectionState, SegmentID)]
        /// Collections the group dropped: their files and key ranges to be reclaimed.
        var dropped: [CollectionState]
    }

    init(
        store: Store, registry: CollectionRegistry, policy: SyncPolicy, statistics: EngineStatistics,
        afterCommit: @escaping @Sendable (CommitEffects) -> Void
    ) {
        self.store = store
        self.registry = registry
        self.policy = policy
        self.commitThread = BlockingPool(threads: 1)
        self.statistics = statistics
        self.afterCommit = afterCommit
    }

    /// Enqueues `op` and returns once it is durable under the sync policy and visible to reads,
    /// or has failed.
    func submit(_ op: WriteOp) async -> Result<WriteOutcome, QuiverError> {
        await withCheckedContinuation { continuation in
            let startDrain = state.withLock { state in
                state.pending.append(Pending(op: op, continuation: continuation))
                state.pendingRecords += op.recordCount
                if state.firstPendingAt == nil { state.firstPendingAt = .now }
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if startDrain { commitThread.submit { self.drain() } }
        }
    }

    /// Stops the commit thread once the queue is empty. Callers must have stopped submitting.
    func shutdown() async { await commitThread.shutdown() }

    private func drain() {
        while true {
            waitForGroupWindow()
            let group: [Pending]? = state.withLock { state in
                guard !state.pending.isEmpty else {
                    state.draining = false
                    return nil
                }
                defer {
                    state.pending = []
                    state.pendingRecords = 0
                    state.firstPendingAt = nil
                }
                return state.pending
            }
            guard let group else { return }
            commit(group)
        }
    }

    /// Under `batch`, waits until the window since the oldest pending op has passed or enough
    /// records are pending to make a full group.
    private func waitForGroupWindow() {
        guard case .batch(let window) = policy else { return }
        while true {
            let (first, records) = state.withLock { ($0.firstPendingAt, $0.pendingRecords) }
            guard let first, records < SyncPolicy.groupRecordsTarget else { return }
            let remaining = first + window - .now
            guard remaining > .zero else { return }
            let step = min(remaining, .microseconds(200))
            usleep(UInt32(step.components.attoseconds / 1_000_000_000_000 + step.components.seconds * 1_000_000))
        }
    }

    private func commit(_ group: [Pending]) {
        let (collections, nextCollectionID) = registry.current()
        var planner = CommitGroup(store: store, catalog: collections, nextCollectionID: nextCollectionID)
        var outcomes = group.map { planner.plan($0.op) }
        var effects = CommitEffects(sealed: [], dropped: [])
        if outcomes.contains(where: { if case .success = $0 { true } else { false } }) {
            let sync = planner.changesCatalog || policy.fsyncsWAL
            do {
                // A group that only seals changes memory alone: nothing to write.
                if planner.batch.operationCount > 0 {
                    let started = ContinuousClock.now
                    try store.commit(planner.batch, sync: sync)
                    if sync { EngineMetrics.walSync.record(duration: ContinuousClock.now - started) }
                    statistics.commitGroups.add(1, ordering: .relaxed)
                    if sync { statistics.walSyncs.add(1, ordering: .relaxed) }
                }
                statistics.committedOps.add(group.count, ordering: .relaxed)
                effects.sealed = planner.apply(storage: store.snapshot())
                if planner.changesCatalog {
                    registry.replace(collections: planner.catalog, nextCollectionID: planner.nextCollectionID)
                }
            } catch {
                statistics.failedCommits.add(1, ordering: .relaxed)
                outcomes = outcomes.map { outcome in
                    if case .success = outcome { .failure(error) } else { outcome }
                }
            }
        }
        for outcome in outcomes {
            if case .success(.dropped(let state)) = outcome { effects.dropped.append(state) }
        }
        if !effects.sealed.isEmpty || !effects.dropped.isEmpty { afterCommit(effects) }
        for (pending, outcome) in zip(group, outcomes) { pending.continuation.resume(returning: outcome) }
    }
}
