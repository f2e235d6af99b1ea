import NIOCore
import QuiverCore
import Synchronization

/// The request messages of a streaming call, from the connection's event loop to the call's task.
///
/// Unlike an `AsyncStream`, it can be stopped with messages still queued (a graceful shutdown
/// answers the request in hand and no further one), and it tells the connection when a message
/// is taken, which is when the connection lets the client send more (`onTaken`): a client that
/// sends faster than the call answers is held back by HTTP/2 flow control, not by memory.
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
    }

    private let state = Mutex(State())
    private let onTaken: @Sendable () -> Void

    /// - Parameter onTaken: called, on the taking task, after each message is taken.
    init(onTaken: @escaping @Sendable () -> Void) { self.onTaken = onTaken }

    /// The number of messages received and not yet taken.
    var queued: Int { state.withLock { $0.queue.count - $0.head } }

    /// The next message, or how the stream ended. One taker at a time.
    func next() async -> Next {
        let ready: Next? = state.withLock { state in
            if case .stopped = state.ending { return .stopped }
            if state.head < state.queue.count {
                let message = state.queue[state.head]
                state.head += 1
                if state.head == state.queue.count {
                    state.queue.removeAll(keepingCapacity: true)
                    state.head = 0
                }
                return .message(message)
            }
            return state.ending
        }
        if let ready {
            if case .message = ready { onTaken() }
            return ready
        }
        let next = await withCheckedContinuation { (continuation: CheckedContinuation<Next, Never>) in
            let now: Next? = state.withLock { state in
                if state.head < state.queue.count {
                    let message = state.queue[state.head]
                    state.head += 1
                    return .message(message)
                }
                if let ending = state.ending { return ending }
                state.waiter = continuation
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
        if case .message = next { onTaken() }
        return next
    }

    /// From the event loop: a message arrived.
    func receive(_ message: ByteBuffer) {
        let waiter: CheckedContinuation<Next, Never>? = state.withLock { state in
            guard state.ending == nil else { return nil }
            if let waiter = state.waiter {
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
        let waiter: CheckedContinuation<Next, Never>? = state.withLock { state in
            if case .end = ending, state.ending != nil { return nil }
            if case .stopped = state.ending { return nil }
            state.ending = ending
            if case .end = ending {} else {
                state.queue.removeAll()
                state.head = 0
            }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: ending)
    }
}
