import GRPCCore
import QuiverCore
import QuiverWire

/// Runs the work of one call so that it honours cancellation and deadlines and fails with a
/// Quiver status.
///
/// gRPC signals a passed deadline or a client's cancel through the call's cancellation handle,
/// not by cancelling the handler's task; this bridges it: the work runs in a child task that is
/// cancelled when the call is. The engine then drops the call's queued scans (a write already in
/// the commit queue still commits: its outcome is unknown to a client that gave up, as with any
/// database). A cancelled call that carried a deadline ends with DEADLINE_EXCEEDED.
///
/// During a graceful shutdown the transport signals cancellation to every call in flight; those
/// calls are meant to finish, so once `state` has stopped serving the signal is ignored (the
/// client still enforces its own deadline).
func handle<T: Sendable>(
    _ state: ServerState, _ body: @escaping @Sendable () async throws(QuiverError) -> T
) async throws -> T {
    let hasDeadline = CallInfo.hasDeadline
    let task = Task { () async -> Result<T, QuiverError> in
        do throws(QuiverError) {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }
    let result = await withRPCCancellationHandler {
        await task.value
    } onCancelRPC: {
        if state.isServing { task.cancel() }
    }
    switch result {
    case .success(let value):
        return value
    case .failure(let error) where error.code == .cancelled && hasDeadline:
        throw WireError.rpcError(QuiverError(.deadlineExceeded, .deadlineExceeded, "the call's deadline passed before it finished"))
    case .failure(let error):
        throw WireError.rpcError(error)
    }
}
