import Synchronization

/// Counters of the write path, for tests, benchmarks and (later) metrics.
public struct DatabaseStatistics: Sendable, Hashable {
    /// Groups written by the committer; each is one RocksDB write.
    public var commitGroups: Int
    /// Ops (upsert batches, deletes, creates, drops) in those groups.
    public var committedOps: Int
    /// Groups whose WAL write was fsynced.
    public var walSyncs: Int
    /// Groups whose RocksDB write failed.
    public var failedCommits: Int
}

final class EngineStatistics: Sendable {
    let commitGroups = Atomic<Int>(0)
    let committedOps = Atomic<Int>(0)
    let walSyncs = Atomic<Int>(0)
    let failedCommits = Atomic<Int>(0)

    var snapshot: DatabaseStatistics {
        DatabaseStatistics(
            commitGroups: commitGroups.load(ordering: .relaxed),
            committedOps: committedOps.load(ordering: .relaxed),
            walSyncs: walSyncs.load(ordering: .relaxed),
            failedCommits: failedCommits.load(ordering: .relaxed))
    }
}
