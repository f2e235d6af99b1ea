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
    /// - Throws: what `body` throws; `cancelled` when the task was cancelled before `body` ran;
    ///   `closed` after `shutdown`.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(QuiverError) -> T) async throws(QuiverError) -> T {
        let result: Result<T, QuiverError>
        do {
            result = try await pool.runIfActive { Result { () throws(QuiverError) -> T in try body() } }
        } catch is CancellationError {
            throw .cancelled
        } catch {
            throw .closed
        }
        return try result.get()
    }

    /// Runs `body` on the pool without waiting for it. Dropped silently after `shutdown`.
    func submit(_ body: @escaping @Sendable () -> Void) {
        pool.submit { state in
            if case .active = state { body() }
        }
    }

    /// Finishes the queued work and stops the threads.
    func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
