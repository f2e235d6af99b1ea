import GRPCCore
import QuiverCore
import QuiverProto
import QuiverWire
import Synchronization

/// Searches over one long-lived `SearchStream` call, opened by `QuiverClient.withSearchSession`.
///
/// A search through a session skips what a `Search` call costs on both sides beyond the search
/// itself (an HTTP/2 stream, headers, the call's tasks and buffers), which for a single query
/// over a small collection is most of its latency (docs/benchmarks.md, "Server").
///
/// The server runs a session's searches one after another, in the order they were sent, so a
/// session is for one caller at a time; concurrent callers each open their own. Several tasks may
/// still share one session: their searches queue on it.
///
/// The first search that fails ends the session: that search throws the server's error, and every
/// search waiting behind it or sent later throws `sessionClosed`, except that an error about the
/// call itself (`unauthenticated`, `permissionDenied`, `unavailable` from a server shutting down,
/// `unimplemented`, `cancelled`, `deadlineExceeded`) is thrown again by each of them. Open a new
/// session to go on. A session has no per-search deadline (`QuiverClient.Options.timeout` does not
/// apply to it), and a search once sent is not withdrawn: a cancelled task still waits for its
/// answer. Cancelling the task that opened the session ends the session.
public final class SearchSession: Sendable {
    private struct State {
        /// The callers waiting for answers, in the order their requests were sent.
        var waiting: [CheckedContinuation<Quiver_V1_SearchResponse, any Error>] = []
        var ended: QuiverError?
    }

    private let requests: AsyncStream<Quiver_V1_SearchRequest>.Continuation
    private let state = Mutex(State())

    init(requests: AsyncStream<Quiver_V1_SearchRequest>.Continuation) {
        self.requests = requests
    }

    /// k-nearest-neighbour search, as `QuiverClient.search`.
    public func search(
        _ collection: String, queries: [[Float]], k: Int, options: SearchOptions = SearchOptions()
    ) async throws(QuiverError) -> [[SearchHit]] {
        try await explainedSearch(collection, queries: queries, k: k, options: options, explain: false).hits
    }

    /// `search`, with the server's plan when `explain` is set, as `QuiverClient.explainedSearch`.
    public func explainedSearch(
        _ collection: String, queries: [[Float]], k: Int, options: SearchOptions = SearchOptions(), explain: Bool = true
    ) async throws(QuiverError) -> (hits: [[SearchHit]], plan: SearchPlan?) {
        let request = Quiver_V1_SearchRequest(collection, queries: queries, k: k, options: options, explain: explain)
        let response: Quiver_V1_SearchResponse
        do {
            response = try await withCheckedThrowingContinuation { waiter in
                state.withLock { state in
                    if let ended = state.ended { return waiter.resume(throwing: ended) }
                    // Sent under the lock, so that answers, which come back in sending order,
                    // find their callers in the same order. If the call has already stopped
                    // taking requests, the request is dropped and the caller waits for `end`,
                    // which follows and says why.
                    state.waiting.append(waiter)
                    requests.yield(request)
                }
            }
        } catch {
            throw WireError.quiverError(error)
        }
        return try response.answer(collection: collection, options: options)
    }

    /// Hands the next answer to the caller that has waited longest.
    func deliver(_ response: Quiver_V1_SearchResponse) {
        state.withLock { state in
            guard !state.waiting.isEmpty else { return }
            state.waiting.removeFirst().resume(returning: response)
        }
    }

    /// Ends the session. The caller waiting longest gets `error`: its search is the one that
    /// failed, or the first to learn that the call did. What the others and later searches get
    /// depends on the error: one about the call itself (a refused key, a shutting-down server,
    /// a method the server lacks) is theirs too; one about a request ends the session for them.
    func end(_ error: QuiverError?) {
        state.withLock { state in
            let waiting = state.waiting
            state.waiting = []
            if state.ended == nil {
                if let error, Self.callWide.contains(error.code) { state.ended = error } else { state.ended = Self.closed(after: error) }
            }
            for (i, waiter) in waiting.enumerated() { waiter.resume(throwing: i == 0 ? error ?? state.ended! : state.ended!) }
        }
        requests.finish()
    }

    /// Errors that concern the whole call rather than one request.
    private static let callWide: Set<QuiverError.Code> = [
        .unauthenticated, .permissionDenied, .unavailable, .unimplemented, .cancelled, .deadlineExceeded,
    ]

    private static func closed(after error: QuiverError? = nil) -> QuiverError {
        let cause = error.map { " (\($0.message))" } ?? ""
        return QuiverError(.failedPrecondition, .sessionClosed, "the search session has ended\(cause); open a new one")
    }
}
