import NIOPosix
import QuiverCore

/// A fixed set of owned threads for work that blocks (RocksDB writes and fsyncs, scans, FAISS),
/// so that it never occupies Swift's cooperative pool. Wraps `NIOThreadPool` and keeps errors
/// typed.
final class BlockingPool: Sendable {
    private let pool: NIOThreadPool
    let threadCount: Int

    init(threads: Int) {
        precondition(threads > 0)
        threadCount = threads
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    /// Runs `body` on one of the pool's threads and returns its result.
    ///
    /// - Throws: what `body` throws; `cancelled` when the task was cancelled, or the pool shut
    ///   down, before `body` ran.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(QuiverError) -> T) async throws(QuiverError) -> T {
        let result: Result<T, QuiverError>
        do {
            result = try await pool.runIfActive { Result { () throws(QuiverError) -> T in try body() } }
        } catch {
            // NIO reports both a cancelled task and a pool shutting down as CancellationError.
            throw .cancelled
        }
        return try result.get()
    }

    /// Runs `body` on the pool without waiting for it. Dropped silently after `shutdown`.
    func submit(_ body: @escaping @Sendable () -> Void) {
        pool.submit { state in
            if case .active = state { body() }
        }
    }

    /// Stops the threads once the running work items return. Work still queued is dropped
    /// (`run` callers get `cancelled`), so callers drain their own work first.
    func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    // A pool dropped without `shutdown` (a `Database` released without `close`) must still stop
    // its threads; NIO treats a second shutdown as a no-op.
    deinit { pool.shutdownGracefully { _ in } }
}
