import QuiverClient
import QuiverCore
import QuiverTesting
import QuiverWire
import Testing

/// The `QuiverError` that `body` throws, or nil (recorded as an issue) when it succeeds.
func expectError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> QuiverError? {
    do {
        try await body()
        Issue.record("expected an error", sourceLocation: sourceLocation)
        return nil
    } catch let error as QuiverError {
        return error
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
