import GRPCCore
import Logging
import QuiverAuth
import QuiverCore
import QuiverWire

/// Checks `authorization: Bearer <key>` against the server's API keys and the role the method
/// requires (`MethodAccess`). Installed only when the server runs with `--api-keys`.
///
/// Refusals: no or malformed header → UNAUTHENTICATED; a key the server does not know →
/// UNAUTHENTICATED; a known key with too small a role → PERMISSION_DENIED, naming the key by its
/// label. The presented key is never logged or echoed. Refusals are logged and counted in the
/// call metrics like calls that fail in a service.
struct AuthInterceptor: ServerInterceptor {
    let keys: APIKeys
    let logger: Logger

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard let required = MethodAccess.role(for: context.descriptor) else {
            return try await next(request, context)
        }
        let started = ContinuousClock.now
        let method = context.descriptor.fullyQualifiedMethod
        if let refusal = refusal(request.metadata, required: required, method: method) {
            logger.notice(
                "call refused",
                metadata: ["method": "\(method)", "peer": "\(context.remotePeer)", "code": "\(refusal.code.rawValue)", "error": "\(refusal.message)"])
            CallMetrics.record(context, code: refusal.code.rawValue, started: started)
            throw WireError.rpcError(refusal)
        }
        return try await next(request, context)
    }

    /// Why the call may not proceed, or nil when its key has the role.
    private func refusal(_ metadata: Metadata, required: Role, method: String) -> QuiverError? {
        guard let header = metadata[stringValues: "authorization"].first(where: { _ in true }),
            header.hasPrefix("Bearer "), header.count > "Bearer ".count
        else {
            return QuiverError(
                .unauthenticated, .missingCredentials,
                "\(method) needs an API key: send the header \"authorization: Bearer <key>\"",
                field: "authorization")
        }
        guard let entry = keys.match(String(header.dropFirst("Bearer ".count))) else {
            return QuiverError(.unauthenticated, .invalidCredentials, "the API key is not known to this server", field: "authorization")
        }
        guard entry.role >= required else {
            return QuiverError(
                .permissionDenied, .insufficientRole,
                "key \"\(entry.label)\" has role \(entry.role); \(method) needs \(required)",
                field: "authorization", value: entry.role.description)
        }
        return nil
    }
}
