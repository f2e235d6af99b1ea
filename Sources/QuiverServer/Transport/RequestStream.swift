import NIOCore
import QuiverCore
import Synchronization

/// The request messages of a streaming call, from the connection's event loop to the call's task.
///
/// Unlike an `AsyncStream`, it can be stopped with messages still queued (a graceful shutdown
/// answers the request in hand and no further one), it tells the connection when a message is
/// taken, which is when the connection lets the client send more (`onTaken`): a client that
/// sends faster than the call answers is held back by HTTP/2 flow control, not by memory; and the
/// connection can pause it (`setPaused`) while the call's answers wait for a client that does
/// not read them, so that they do not pile up in memory either.
final class RequestStream: Sendable {
    enum Next: Sendable {
        case message(ByteBuffer)
        /// The client ended its side of the call.
        case end
        /// The server is shutting down.
        case stopped
        /// The client reset the call, or its request was refused while reading (too large).
        case failed(QuiverError)
    }

    private struct State {
        var queue: [ByteBuffer] = []
        var head = 0
        var ending: Next?
        var waiter: CheckedContinuation<Next, Never>?
        var paused = false

        /// The next queued message, unless paused.
        mutating func take() -> ByteBuffer? {
            guard !paused, head < queue.count else { return nil }
            let message = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            }
            return message
        }

        /// What `next` returns now, or nil to wait.
        mutating func ready() -> Next? {
            if case .stopped = ending { return .stopped }
            if let message = take() { return .message(message) }
            // Paused with messages queued: wait for them rather than end.
            if head < queue.count { return nil }
            return ending
        }
    }

    private let state = Mutex(State())
    private let onTaken: @Sendable () -> Void

    /// - Parameter onTaken: called, on the taking task, after each message is taken.
    init(onTaken: @escaping @Sendable () -> Void) { self.onTaken = onTaken }

    /// The number of messages received and not yet taken.
    var queued: Int { state.withLock { $0.queue.count - $0.head } }

    /// The next message, or how the stream ended. One taker at a time.
    func next() async -> Next {
        let next: Next
        if let ready = state.withLock({ $0.ready() }) {
            next = ready
        } else {
            next = await withCheckedContinuation { (continuation: CheckedContinuation<Next, Never>) in
                let now: Next? = state.withLock { state in
                    if let ready = state.ready() { return ready }
                    state.waiter = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        }
        if case .message = next { onTaken() }
        return next
    }

    /// From the event loop: hold messages back (`true`) or let them be taken again.
    func setPaused(_ paused: Bool) {
        let resume: (CheckedContinuation<Next, Never>, Next)? = state.withLock { state in
            state.paused = paused
            guard let waiter = state.waiter, let ready = state.ready() else { return nil }
            state.waiter = nil
            return (waiter, ready)
        }
        if let (waiter, next) = resume { waiter.resume(returning: next) }
    }

    /// From the event loop: a message arrived.
    func receive(_ message: ByteBuffer) {
        let waiter: CheckedContinuation<Next, Never>? = state.withLock { state in
            guard state.ending == nil else { return nil }
            if !state.paused, let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.queue.append(message)
            return nil
        }
        waiter?.resume(returning: .message(message))
    }

    /// From the event loop: the stream ended as `ending` (`.end`, `.stopped` or `.failed`).
    /// `.stopped` and `.failed` drop the queued messages; `.end` lets them be taken first.
    func finish(_ ending: Next) {
        let resume: (CheckedContinuation<Next, Never>, Next)? = state.withLock { state in
            if case .end = ending, state.ending != nil { return nil }
            if case .stopped = state.ending { return nil }
            state.ending = ending
            if case .end = ending {} else {
                state.queue.removeAll()
                state.head = 0
            }
            guard let waiter = state.waiter, let ready = state.ready() else { return nil }
            state.waiter = nil
            return (waiter, ready)
        }
        if let (waiter, next) = resume { waiter.resume(returning: next) }
    }
}
