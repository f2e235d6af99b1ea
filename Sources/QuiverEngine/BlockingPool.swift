#if canImport(Glibc)
import Glibc
#endif
import NIOPosix
import QuiverCore

/// A fixed set of owned threads for work that blocks (RocksDB writes and fsyncs, scans, FAISS),
/// so that it never occupies Swift's cooperative pool. Wraps `NIOThreadPool` and keeps errors
/// typed.
final class BlockingPool: Sendable {
    private let pool: NIOThreadPool
    let threadCount: Int
    /// The nice value the pool's threads run at (0: the process's own).
    private let niceness: Int32

    /// - Parameter niceness: a nice value for the pool's threads (Linux gives every thread its
    ///   own); 0 leaves them at the process's priority.
    init(threads: Int, niceness: Int32 = 0) {
        precondition(threads > 0)
        threadCount = threads
        self.niceness = niceness
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    /// Sets the calling pool thread's nice value. On Linux `setpriority(PRIO_PROCESS, 0, …)`
    /// changes the calling thread only (nice values are per thread there, unlike POSIX says).
    /// Set on every work item rather than once per thread: NIO starts the threads, and the call
    /// is one syscall. Failure only leaves the thread at normal priority.
    private func applyNiceness() {
        #if os(Linux)
        if niceness != 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) }
        #endif
    }

    /// Runs `body` on one of the pool's threads and returns its result.
    ///
    /// - Throws: what `body` throws; `cancelled` when the task was cancelled, or the pool shut
    ///   down, before `body` ran.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(QuiverError) -> T) async throws(QuiverError) -> T {
        let result: Result<T, QuiverError>
        do {
            result = try await pool.runIfActive {
                self.applyNiceness()
                return Result { () throws(QuiverError) -> T in try body() }
            }
        } catch {
            // NIO reports both a cancelled task and a pool shutting down as CancellationError.
            throw .cancelled
        }
        return try result.get()
    }

    /// Runs `body` on the pool without waiting for it. `body` gets `true` on a pool thread, or
    /// `false` when the pool has shut down (then on whatever thread found that out): it must then
    /// fail the work it stands for rather than drop it, since nobody else will.
    func submit(_ body: @escaping @Sendable (_ active: Bool) -> Void) {
        pool.submit { state in
            guard case .active = state else {
                body(false)
                return
            }
            self.applyNiceness()
            body(true)
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
