import GRPCCore
import Logging
import QuiverCore
import QuiverWire

/// Checks `authorization: Bearer <key>` against the server's API keys and the role the method
/// requires (`MethodAccess`). Installed only when the server runs with `--api-keys`.
///
/// Refusals: no or malformed header → UNAUTHENTICATED; a key the server does not know →
/// UNAUTHENTICATED; a known key with too small a role → PERMISSION_DENIED, naming the key by its
/// label. The presented key is never logged or echoed.
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
        let method = context.descriptor.fullyQualifiedMethod
        do {
            return try await authorize(request, context, required: required, method: method, next: next)
        } catch let error as RPCError {
            logger.notice(
                "call refused",
                metadata: ["method": "\(method)", "peer": "\(context.remotePeer)", "status": "\(error.code)", "error": "\(error.message)"])
            throw error
        }
    }

    private func authorize<Input: Sendable, Output: Sendable>(
        _ request: StreamingServerRequest<Input>, _ context: ServerContext, required: Role, method: String,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard let header = request.metadata[stringValues: "authorization"].first(where: { _ in true }),
            header.hasPrefix("Bearer "), header.count > "Bearer ".count
        else {
            throw WireError.rpcError(
                QuiverError(
                    .unauthenticated, .missingCredentials,
                    "\(method) needs an API key: send the header \"authorization: Bearer <key>\"",
                    field: "authorization"))
        }
        guard let entry = keys.match(String(header.dropFirst("Bearer ".count))) else {
            throw WireError.rpcError(
                QuiverError(.unauthenticated, .invalidCredentials, "the API key is not known to this server", field: "authorization"))
        }
        guard entry.role >= required else {
            throw WireError.rpcError(
                QuiverError(
                    .permissionDenied, .insufficientRole,
                    "key \"\(entry.label)\" has role \(entry.role); \(method) needs \(required)",
                    field: "authorization", value: entry.role.description))
        }
        return try await next(request, context)
    }
}
