import Logging
import Metrics
import NIOCore
import QuiverCore
import QuiverWire
import SwiftProtobuf
import Synchronization

/// How every call that does work runs: failing with a Quiver status, counted and timed in the
/// call metrics, and writing its access-log line.
///
/// Cancellation needs nothing here: the transport runs each call in a task of its own and
/// cancels it when the client resets the call or its deadline passes, and the engine then drops
/// the call's scans that have not started (a write already in the commit queue still commits:
/// its outcome is unknown to a client that gave up, as with any database). A graceful shutdown
/// cancels nothing: the calls in flight finish.
struct CallHandler: Sendable {
    let state: ServerState
    let logger: Logger

    func handle<T: Sendable>(_ call: CallInfo, _ body: () async throws(QuiverError) -> T) async throws(QuiverError) -> T {
        let started = ContinuousClock.now
        do {
            let value = try await body()
            CallMetrics.record(call.method, code: "ok", started: started)
            if logger.logLevel <= .debug { logger.debug("call", metadata: metadata(call, started)) }
            return value
        } catch {
            CallMetrics.record(call.method, code: error.code.rawValue, started: started)
            throw failed(call, started, error)
        }
    }

    /// Serves a stream of requests each answered on its own, in order (`SearchStream`): every
    /// request is counted and timed in the call metrics as a call of the stream's method; the
    /// first that fails ends the stream with its status. During a graceful shutdown the request
    /// being answered is finished, then the stream ends with UNAVAILABLE instead of waiting for
    /// more (a client may keep a stream open indefinitely, which would hold the shutdown).
    func handleEach<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ call: CallInfo, requests: RequestStream, respond: @Sendable ([UInt8]) -> Void,
        _ answer: (Request) async throws(QuiverError) -> Response
    ) async -> StreamOutcome {
        let started = ContinuousClock.now
        var answered = 0
        while true {
            let failure: QuiverError
            switch await requests.next() {
            case .message(let bytes):
                let received = ContinuousClock.now
                do throws(QuiverError) {
                    let request = try GRPCMethod.decode(Request.self, bytes)
                    respond(try GRPCMethod.encode(try await answer(request)))
                    CallMetrics.record(call.method, code: "ok", started: received)
                    answered += 1
                    continue
                } catch {
                    CallMetrics.record(call.method, code: error.code.rawValue, started: received)
                    failure = error
                }
            case .end:
                if logger.logLevel <= .debug {
                    var metadata = metadata(call, started)
                    metadata["requests"] = "\(answered)"
                    logger.debug("stream", metadata: metadata)
                }
                return StreamOutcome()
            case .stopped:
                failure = QuiverError(
                    .unavailable, .serverUnavailable, "the server is shutting down; \(answered) requests of this stream were answered")
            case .failed(let error):
                failure = error
            }
            return StreamOutcome(error: failed(call, started, failure))
        }
    }

    /// Logs a failed call and returns its error.
    func failed(_ call: CallInfo, _ started: ContinuousClock.Instant, _ error: QuiverError) -> QuiverError {
        var metadata = metadata(call, started)
        metadata["code"] = "\(error.code.rawValue)"
        metadata["reason"] = "\(error.reason.rawValue)"
        metadata["error"] = "\(error.message)"
        switch error.code {
        case .internal, .io, .corruption: logger.error("call failed", metadata: metadata)
        default: logger.notice("call refused", metadata: metadata)
        }
        return error
    }

    private func metadata(_ call: CallInfo, _ started: ContinuousClock.Instant) -> Logger.Metadata {
        let elapsed = ContinuousClock.now - started
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return [
            "method": "\(call.fullMethod)", "peer": "\(call.peer)",
            "duration_ms": "\(ms.formatted(.number.precision(.fractionLength(3))))",
        ]
    }
}

/// The per-call series of the metrics endpoint: calls that reached a service, calls refused
/// before they did (auth), and requests refused while decoding (too large, malformed), which are
/// counted but not timed.
///
/// The metric objects are made once per method and code: `Counter(label:dimensions:)` looks its
/// series up in the Prometheus registry under a lock, which cost several microseconds per call.
enum CallMetrics {
    private struct Series: Sendable {
        let calls: Counter
        let duration: Metrics.Timer
    }

    private static let cache = Mutex<[String: Series]>([:])

    /// - Parameter code: `ok` or the `QuiverError.Code` the call failed with.
    static func record(_ method: String, code: String, started: ContinuousClock.Instant) {
        let (counter, timer) = series(method, code)
        counter.increment()
        timer.record(duration: ContinuousClock.now - started)
    }

    static func count(_ method: String, code: String) { series(method, code).0.increment() }

    private static func series(_ method: String, _ code: String) -> (Counter, Metrics.Timer) {
        let key = method + "\u{0}" + code
        if let found = cache.withLock({ $0[key] }) { return (found.calls, found.duration) }
        let made = Series(
            calls: Counter(label: "quiver_rpc_calls_total", dimensions: [("method", method), ("code", code)]),
            duration: Metrics.Timer(label: "quiver_rpc_duration_seconds", dimensions: [("method", method)]))
        cache.withLock { $0[key] = made }
        return (made.calls, made.duration)
    }
}
