import Foundation
import Logging
import QuiverCore

/// How a database is opened.
public struct DatabaseOptions: Sendable {
    /// When writes are fsynced relative to their acknowledgement. Default `.always`.
    public var syncPolicy: SyncPolicy
    /// Threads that run searches and reads. Default: one per core. More threads than cores only
    /// add contention, since a scan is CPU-bound.
    public var searchThreads: Int
    /// RocksDB flush and compaction threads. Default 2.
    public var storageBackgroundJobs: Int
    /// Run the periodic background check (sealing old growing segments, retrying builds,
    /// compaction by policy). Default `true`; tests that want to control every seal turn it off.
    /// Segments that fill up are indexed either way.
    public var backgroundWork: Bool
    /// Hold back index builds of sealed segments until `Database.indexDeferredSegments()`:
    /// for a bulk load that should spend every core on writing first (`quiver import
    /// --data-dir`). Sealed segments are searched exactly meanwhile. Default `false`.
    public var deferIndexing: Bool = false
    /// Tune storage for a write-only bulk load by one process (`quiver import --data-dir`): rows
    /// go to RocksDB memtables that append instead of sorting on every insert. Durability is
    /// unchanged (the WAL is written as always), but reading rows that are not flushed yet is
    /// slow, so open a database this way only to load it, with `backgroundWork` off (compaction
    /// reads rows). Default `false`.
    public var bulkLoad: Bool = false
    /// The nice value of the thread that builds indexes, compacts and takes backups (Linux).
    /// Default 10: writes and searches come first and the builds take the CPU they leave. On two
    /// cores an import through the server ran at 97,000–102,000 rows/s at nice 0 and
    /// 104,000–177,000 at nice 10, since the builds had taken a whole core from it
    /// (docs/benchmarks.md, "Bulk import"). 0 runs them like the rest.
    public var maintenanceNiceness: Int32 = 10
    /// Most bytes one read (a search, a get, a query by filter) may return: its hits or records,
    /// their vectors and their fields, sized as the wire encodes them. A read over it fails with
    /// `resourceExhausted`/`responseTooLarge` before it runs, or as soon as its field values pass
    /// the limit. Default 64 MiB, the server's default message limit (`quiver serve` sets it to
    /// `--max-message-bytes`); the largest allowed search (4,096 queries × k 1,024, say) would
    /// otherwise build gigabytes for one caller.
    public var resultBytesMax: Int = 64 << 20
    /// How long after a failed index build, compaction or rebuild of a collection its background
    /// work is tried again (a full disk, an I/O error). Default 30 s.
    public var maintenanceRetryDelay: Duration = .seconds(30)
    /// The search planner's cost constants. Default `PlannerSettings()`.
    public var planner: PlannerSettings
    public var logger: Logger

    public init(
        syncPolicy: SyncPolicy = .always,
        searchThreads: Int = ProcessInfo.processInfo.activeProcessorCount,
        storageBackgroundJobs: Int = 2,
        backgroundWork: Bool = true,
        planner: PlannerSettings = PlannerSettings(),
        logger: Logger = Logger(label: "quiver.engine")
    ) {
        self.planner = planner
        self.syncPolicy = syncPolicy
        self.searchThreads = max(1, searchThreads)
        self.storageBackgroundJobs = max(1, storageBackgroundJobs)
        self.backgroundWork = backgroundWork
        self.logger = logger
    }
}
