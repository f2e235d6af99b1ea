import QuiverCore

/// An error that stands for a `QuiverError`: the errors a client call throws conform in
/// `QuiverServerTesting`, so that `thrownError` reads them as a client would, while the tests of
/// the engine and below link no gRPC.
public protocol QuiverErrorConvertible: Error {
    var quiverError: QuiverError { get }
}

/// The error `body` throws, as a `QuiverError` (other errors converted as a client would), or
/// `nil` when it does not throw — so that `#expect(thrownError { … }?.reason == .x)` fails both
/// when the wrong error comes and when none does.
public func thrownError(_ body: () async throws -> Void) async -> QuiverError? {
    do {
        try await body()
        return nil
    } catch let error as QuiverError {
        return error
    } catch let error as any QuiverErrorConvertible {
        return error.quiverError
    } catch is CancellationError {
        return .cancelled
    } catch {
        return QuiverError(.internal, .unknown, "\(error)")
    }
}
