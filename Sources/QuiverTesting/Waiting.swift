import Synchronization

/// A wait in a test that did not end in time: the test fails with what it waited for.
public struct WaitTimedOut: Error, CustomStringConvertible {
    public var description: String
    public init(_ what: String, _ timeout: Duration) { description = "timed out after \(timeout) waiting for \(what)" }
}

/// Waits until `condition` holds, checking it every `interval`, and throws `WaitTimedOut` after
/// `timeout`: for states that only polling can observe (another process's output, a counter
/// another task moves). Never a fixed sleep: it returns as soon as the condition holds.
public func waitUntil(
    _ what: String, timeout: Duration = .seconds(60), interval: Duration = .milliseconds(2),
    _ condition: () async throws -> Bool
) async throws {
    let started = ContinuousClock.now
    while try await !condition() {
        guard ContinuousClock.now - started < timeout else { throw WaitTimedOut(what, timeout) }
        try await Task.sleep(for: interval)
    }
}

/// Runs `body` and returns its result, or throws `WaitTimedOut` once `timeout` has passed without
/// one — also when `body` never returns at all (an awaited continuation nobody resumes), which
/// cancellation cannot end: `body` runs in a task of its own that is then left behind.
public func withDeadline<T: Sendable>(
    _ what: String, timeout: Duration, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = Race<T>()
    return try await withCheckedThrowingContinuation { continuation in
        race.start(continuation)
        Task {
            do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
        }
        Task {
            try? await Task.sleep(for: timeout)
            race.finish(.failure(WaitTimedOut(what, timeout)))
        }
    }
}

/// The continuation of `withDeadline`, resumed by whichever of its two tasks ends first.
private final class Race<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func start(_ continuation: CheckedContinuation<T, any Error>) { self.continuation.withLock { $0 = continuation } }

    func finish(_ result: Result<T, any Error>) {
        let waiting = continuation.withLock { continuation in
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume(with: result)
    }
}
