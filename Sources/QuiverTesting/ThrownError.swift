import QuiverCore
import QuiverWire

/// The error `body` throws, as a `QuiverError` (other errors converted as a client would), or
/// `nil` when it does not throw — so that `#expect(thrownError { … }?.reason == .x)` fails both
/// when the wrong error comes and when none does.
public func thrownError(_ body: () async throws -> Void) async -> QuiverError? {
    do {
        try await body()
        return nil
    } catch {
        return WireError.quiverError(error)
    }
}
