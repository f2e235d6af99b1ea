import GRPCCore
import Logging
import Metrics
import QuiverCore
import QuiverWire
import Synchronization

/// How every call that does work runs: honouring cancellation and deadlines, failing with a
/// Quiver status, and writing its access-log line.
///
/// gRPC signals a passed deadline or a client's cancel through the call's cancellation handle,
/// not by cancelling the handler's task; this bridges it: the work runs in a child task that is
/// cancelled when the call is, and the engine then drops the call's scans that have not started
/// (a write already in the commit queue still commits: its outcome is unknown to a client that
/// gave up, as with any database). The client reports its own DEADLINE_EXCEEDED or CANCELLED; it
/// no longer listens for the server's status.
///
/// During a graceful shutdown the transport signals cancellation to every call in flight; those
/// calls are meant to finish, so once `state` has stopped serving the signal is ignored (the
/// client still enforces its own deadline).
///
/// This is a function the services call rather than a server interceptor: an interceptor wraps
/// every call in another layer of async sequences, which `quiver-bench server` measured at tens
/// of microseconds per call.
struct CallHandler: Sendable {
    let state: ServerState
    let logger: Logger

    func handle<T: Sendable>(
        _ context: ServerContext, _ body: @escaping @Sendable () async throws(QuiverError) -> T
    ) async throws -> T {
        let started = ContinuousClock.now
        let task = Task { () async -> Result<T, QuiverError> in
            do throws(QuiverError) {
                return .success(try await body())
            } catch {
                return .failure(error)
            }
        }
        let state = self.state
        let result = await withRPCCancellationHandler {
            await task.value
        } onCancelRPC: {
            if state.isServing { task.cancel() }
        }
        let code: String
        if case .failure(let error) = result { code = error.code.rawValue } else { code = "ok" }
        CallMetrics.record(context, code: code, started: started)
        switch result {
        case .success(let value):
            if logger.logLevel <= .debug { logger.debug("call", metadata: metadata(context, started)) }
            return value
        case .failure(let error):
            throw failed(context, started, error)
        }
    }

    /// Serves a stream of requests each answered on its own, in order (`SearchStream`): every
    /// request is counted and timed in the call metrics as a call of the stream's method; the
    /// first that fails ends the stream with its status.
    ///
    /// Cancellation as in `handle`, except during a graceful shutdown: the request being answered
    /// is finished, then the stream ends with UNAVAILABLE instead of waiting for more (a client
    /// may keep a stream open indefinitely, which would hold the shutdown).
    func handleEach<Request: Sendable, Response: Sendable>(
        _ context: ServerContext, requests: RPCAsyncSequence<Request, any Error>, responses: RPCWriter<Response>,
        _ answer: @escaping @Sendable (Request) async throws(QuiverError) -> Response
    ) async throws {
        let started = ContinuousClock.now
        let phase = Mutex(StreamPhase.waiting)
        let task = Task { () async -> (answered: Int, failure: QuiverError?) in
            var answered = 0
            var failure: QuiverError?
            do {
                for try await request in requests {
                    guard phase.withLock({ $0.begin() }) else { break }
                    let received = ContinuousClock.now
                    do {
                        try await responses.write(try await answer(request))
                    } catch {
                        let failure = WireError.streamFailure(error)
                        CallMetrics.record(context, code: failure.code.rawValue, started: received)
                        return (answered, failure)
                    }
                    CallMetrics.record(context, code: "ok", started: received)
                    answered += 1
                    guard phase.withLock({ $0.end() }) else { break }
                }
            } catch {
                failure = WireError.streamFailure(error)
            }
            // Stopped on purpose: whatever the wake-up threw, the client is told why.
            if phase.withLock({ $0 == .stopping }) {
                failure = QuiverError(
                    .unavailable, .serverUnavailable, "the server is shutting down; \(answered) requests of this stream were answered")
            }
            return (answered, failure)
        }
        let state = self.state
        let (answered, failure) = await withRPCCancellationHandler {
            await task.value
        } onCancelRPC: {
            if state.isServing || phase.withLock({ $0.stop() }) { task.cancel() }
        }
        guard let failure else {
            if logger.logLevel <= .debug {
                var metadata = metadata(context, started)
                metadata["requests"] = "\(answered)"
                logger.debug("stream", metadata: metadata)
            }
            return
        }
        throw failed(context, started, failure)
    }

    /// Logs a failed call and returns its status.
    private func failed(_ context: ServerContext, _ started: ContinuousClock.Instant, _ error: QuiverError) -> RPCError {
        var metadata = metadata(context, started)
        metadata["code"] = "\(error.code.rawValue)"
        metadata["reason"] = "\(error.reason.rawValue)"
        metadata["error"] = "\(error.message)"
        switch error.code {
        case .internal, .io, .corruption: logger.error("call failed", metadata: metadata)
        default: logger.notice("call refused", metadata: metadata)
        }
        return WireError.rpcError(error)
    }

    private func metadata(_ context: ServerContext, _ started: ContinuousClock.Instant) -> Logger.Metadata {
        let elapsed = ContinuousClock.now - started
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return [
            "method": "\(context.descriptor.fullyQualifiedMethod)", "peer": "\(context.remotePeer)",
            "duration_ms": "\(ms.formatted(.number.precision(.fractionLength(3))))",
        ]
    }
}

/// Where a request stream served by `CallHandler.handleEach` is.
private enum StreamPhase {
    /// Waiting for the client's next request.
    case waiting
    case answering
    /// Shutting down: no further request is taken.
    case stopping

    /// A request arrived: answer it unless stopping.
    mutating func begin() -> Bool {
        guard self == .waiting else { return false }
        self = .answering
        return true
    }

    /// The request is answered: wait for the next unless stopping.
    mutating func end() -> Bool {
        guard self == .answering else { return false }
        self = .waiting
        return true
    }

    /// The server is shutting down; whether the stream is waiting (so it should be woken).
    mutating func stop() -> Bool {
        defer { self = .stopping }
        return self == .waiting
    }
}

/// The per-call series of the metrics endpoint: calls that reached a service, calls the auth
/// interceptor refused before they did, and requests refused while decoding (too large,
/// malformed), which are counted but not timed.
enum CallMetrics {
    /// - Parameter code: `ok` or the `QuiverError.Code` the call failed with.
    static func record(_ context: ServerContext, code: String, started: ContinuousClock.Instant) {
        count(context.descriptor.method, code: code)
        Metrics.Timer(label: "quiver_rpc_duration_seconds", dimensions: [("method", context.descriptor.method)])
            .record(duration: ContinuousClock.now - started)
    }

    static func count(_ method: String, code: String) {
        Counter(label: "quiver_rpc_calls_total", dimensions: [("method", method), ("code", code)]).increment()
    }
}
