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
    public var logger: Logger

    public init(
        syncPolicy: SyncPolicy = .always,
        searchThreads: Int = ProcessInfo.processInfo.activeProcessorCount,
        storageBackgroundJobs: Int = 2,
        logger: Logger = Logger(label: "quiver.engine")
    ) {
        self.syncPolicy = syncPolicy
        self.searchThreads = max(1, searchThreads)
        self.storageBackgroundJobs = max(1, storageBackgroundJobs)
        self.logger = logger
    }
}
