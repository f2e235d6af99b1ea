import Dispatch
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
    /// Segments sealed (full, old, or on request).
    public var seals: Int
    /// IVF templates trained (k-means runs).
    public var templateTrainings: Int
    /// Segment indexes built from sealed segments.
    public var indexBuilds: Int
    /// Background builds or compactions that failed (logged; retried later).
    public var maintenanceFailures: Int
    /// Compactions that replaced segments.
    public var compactions: Int
    /// Time the background worker has spent on tasks (trainings, builds, compactions), the
    /// running one included, in microseconds: sampled twice, the difference over the wall time
    /// is how busy it was.
    public var maintenanceMicroseconds: Int
}

final class EngineStatistics: Sendable {
    let commitGroups = Atomic<Int>(0)
    let committedOps = Atomic<Int>(0)
    let walSyncs = Atomic<Int>(0)
    let failedCommits = Atomic<Int>(0)
    let seals = Atomic<Int>(0)
    let templateTrainings = Atomic<Int>(0)
    let indexBuilds = Atomic<Int>(0)
    let maintenanceFailures = Atomic<Int>(0)
    let compactions = Atomic<Int>(0)
    /// Finished tasks' time, and the uptime at which the running task started (0 when idle).
    private let maintenanceFinishedMicroseconds = Atomic<Int>(0)
    private let maintenanceRunningSince = Atomic<Int>(0)

    private static func uptimeMicroseconds() -> Int { Int(DispatchTime.now().uptimeNanoseconds / 1_000) }

    /// Called by the single maintenance worker around each task.
    func maintenanceStarted() { maintenanceRunningSince.store(Self.uptimeMicroseconds(), ordering: .relaxed) }

    func maintenanceFinished() {
        let since = maintenanceRunningSince.exchange(0, ordering: .relaxed)
        maintenanceFinishedMicroseconds.add(Self.uptimeMicroseconds() - since, ordering: .relaxed)
    }

    private var maintenanceMicroseconds: Int {
        let since = maintenanceRunningSince.load(ordering: .relaxed)
        return maintenanceFinishedMicroseconds.load(ordering: .relaxed) + (since == 0 ? 0 : Self.uptimeMicroseconds() - since)
    }

    var snapshot: DatabaseStatistics {
        DatabaseStatistics(
            commitGroups: commitGroups.load(ordering: .relaxed),
            committedOps: committedOps.load(ordering: .relaxed),
            walSyncs: walSyncs.load(ordering: .relaxed),
            failedCommits: failedCommits.load(ordering: .relaxed),
            seals: seals.load(ordering: .relaxed),
            templateTrainings: templateTrainings.load(ordering: .relaxed),
            indexBuilds: indexBuilds.load(ordering: .relaxed),
            maintenanceFailures: maintenanceFailures.load(ordering: .relaxed),
            compactions: compactions.load(ordering: .relaxed),
            maintenanceMicroseconds: maintenanceMicroseconds)
    }
}
