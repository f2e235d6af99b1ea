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
///
/// After `shutdown` an op is refused with `databaseClosed` at once, never left waiting: the
/// database shuts the background scheduler down first, but an op that still arrives (or a drain
/// the commit thread could no longer run) must fail its caller rather than suspend it for good.
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
        var closed = false
        /// `shutdown` callers waiting for the last drain to end.
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
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
            let startDrain = state.withLock { state -> Bool? in
                guard !state.closed else { return nil }
                state.pending.append(Pending(op: op, continuation: continuation))
                state.pendingRecords += op.recordCount
                if state.firstPendingAt == nil { state.firstPendingAt = .now }
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            switch startDrain {
            case nil: continuation.resume(returning: .failure(.closed))
            case true?:
                commitThread.submit { active in
                    if active { self.drain() } else { self.failPending() }
                }
            case false?: break
            }
        }
    }

    /// Refuses new ops, lets the queued ones commit, and stops the commit thread.
    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let drained = state.withLock { state -> Bool in
                state.closed = true
                guard state.draining else { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if drained { continuation.resume() }
        }
        await commitThread.shutdown()
    }

    /// Ends a drain: no op is pending. Resumes `shutdown`.
    private func endDrain(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        state.draining = false
        defer { state.drainWaiters = [] }
        return state.drainWaiters
    }

    /// The commit thread is gone (only possible if a drain was requested after `shutdown`):
    /// every pending op fails instead of waiting forever.
    private func failPending() {
        let (pending, waiters) = state.withLock { state -> ([Pending], [CheckedContinuation<Void, Never>]) in
            defer {
                state.pending = []
                state.pendingRecords = 0
                state.firstPendingAt = nil
            }
            return (state.pending, endDrain(&state))
        }
        for op in pending { op.continuation.resume(returning: .failure(.closed)) }
        waiters.forEach { $0.resume() }
    }

    private func drain() {
        while true {
            waitForGroupWindow()
            var waiters: [CheckedContinuation<Void, Never>] = []
            let group: [Pending]? = state.withLock { state in
                guard !state.pending.isEmpty else {
                    waiters = endDrain(&state)
                    return nil
                }
                defer {
                    state.pending = []
                    state.pendingRecords = 0
                    state.firstPendingAt = nil
                }
                return state.pending
            }
            guard let group else {
                waiters.forEach { $0.resume() }
                return
            }
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

    private func commit(_ queued: [Pending]) {
        let (collections, nextCollectionID) = registry.current()
        var group = CommitGroup(store: store, catalog: collections, nextCollectionID: nextCollectionID)
        var outcomes = queued.map { group.plan($0.op) }
        var effects = CommitEffects(sealed: [], dropped: [])
        if outcomes.contains(where: { if case .success = $0 { true } else { false } }) {
            let sync = group.changesCatalog || policy.fsyncsWAL
            do {
                // A group that only seals changes memory alone: nothing to write.
                if group.batch.operationCount > 0 {
                    let started = ContinuousClock.now
                    try store.commit(group.batch, sync: sync)
                    if sync { EngineMetrics.walSync.record(duration: ContinuousClock.now - started) }
                    statistics.commitGroups.add(1, ordering: .relaxed)
                    if sync { statistics.walSyncs.add(1, ordering: .relaxed) }
                }
                statistics.committedOps.add(queued.count, ordering: .relaxed)
                effects.sealed = group.apply(storage: store.snapshot())
                if group.changesCatalog {
                    registry.replace(collections: group.catalog, nextCollectionID: group.nextCollectionID)
                }
            } catch {
                statistics.failedCommits.add(1, ordering: .relaxed)
                outcomes = outcomes.map { outcome in
                    if case .success = outcome { .failure(error) } else { outcome }
                }
            }
        }
        for outcome in outcomes {
            if case .success(.dropped(let collection)) = outcome { effects.dropped.append(collection) }
        }
        if !effects.sealed.isEmpty || !effects.dropped.isEmpty { afterCommit(effects) }
        for (pending, outcome) in zip(queued, outcomes) { pending.continuation.resume(returning: outcome) }
    }
}
