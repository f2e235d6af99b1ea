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
    let logger: Logger
    let audit: AuditLog?

    /// - Parameters:
    ///   - collection: the collection the call is about, for the audit log.
    ///   - records: the records a write call wrote or deleted, from its answer, for the audit log.
    func handle<T: Sendable>(
        _ call: CallInfo, collection: @autoclosure () -> String? = nil, records: ((T) -> Int)? = nil,
        _ body: () async throws(QuiverError) -> T
    ) async throws(QuiverError) -> T {
        let started = ContinuousClock.now
        do {
            let value = try await body()
            call.series.recordOK(started: started)
            if logger.logLevel <= .debug { logger.debug("call", metadata: metadata(call, started)) }
            if let audit, let role = call.role, role >= .write {
                audit.write(
                    AuditEntry(
                        method: call.fullMethod, peer: call.peer, key: call.caller?.label, collection: collection(), records: records?(value),
                        code: "OK"))
            }
            return value
        } catch {
            call.series.record(error.code, started: started)
            if let audit, (call.role ?? .read) >= .write || error.code == .permissionDenied || error.code == .unauthenticated {
                audit.write(
                    AuditEntry(method: call.fullMethod, peer: call.peer, key: call.caller?.label, collection: collection(), code: error.code.rawValue))
            }
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
                    call.series.recordOK(started: received)
                    answered += 1
                    continue
                } catch {
                    call.series.record(error.code, started: received)
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

/// One method's series of the metrics endpoint: its calls by outcome (`ok` or the
/// `QuiverError.Code` it failed with) and their durations. Calls refused before they reach a
/// service (auth) are counted and timed like the others; requests refused while they are read
/// (too large, malformed) are counted, not timed.
///
/// Made once per method, when the server starts (after the metrics backend is bootstrapped):
/// `Counter(label:dimensions:)` looks its series up in the Prometheus registry under a lock,
/// which cost several microseconds per call when it was done per call.
final class CallSeries: Sendable {
    let method: String
    private let ok: Counter
    private let duration: Metrics.Timer
    private let failures = Mutex<[String: Counter]>([:])

    init(method: String) {
        self.method = method
        ok = Counter(label: "quiver_rpc_calls_total", dimensions: [("method", method), ("code", "ok")])
        duration = Metrics.Timer(label: "quiver_rpc_duration_seconds", dimensions: [("method", method)])
    }

    func recordOK(started: ContinuousClock.Instant) {
        ok.increment()
        duration.record(duration: ContinuousClock.now - started)
    }

    func record(_ code: QuiverError.Code, started: ContinuousClock.Instant) {
        failed(code).increment()
        duration.record(duration: ContinuousClock.now - started)
    }

    func countOK() { ok.increment() }

    func count(_ code: QuiverError.Code) { failed(code).increment() }

    private func failed(_ code: QuiverError.Code) -> Counter {
        failures.withLock { counters in
            if let counter = counters[code.rawValue] { return counter }
            let counter = Counter(label: "quiver_rpc_calls_total", dimensions: [("method", method), ("code", code.rawValue)])
            counters[code.rawValue] = counter
            return counter
        }
    }
}
