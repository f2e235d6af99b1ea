import QuiverAuth
import QuiverCore

/// Checks `authorization: Bearer <key>` against the server's API keys and the role the method
/// requires (`MethodAccess`). Applies only when the server runs with `--api-keys`.
///
/// Refusals: no or malformed header → UNAUTHENTICATED; a key the server does not know →
/// UNAUTHENTICATED; a known key with too small a role → PERMISSION_DENIED, naming the key by its
/// label. The presented key is never logged or echoed. The transport logs and counts refusals
/// like calls that fail in a service, before the request is read.
enum CallAuthorization {
    /// The key's entry when it has the role, else why the call may not proceed. Without an
    /// `authorization` header, a verified client certificate listed as `subject:NAME` stands for
    /// a key (`certificateNames`: its names, empty without one).
    static func check(
        _ header: String?, keys: APIKeys, required: Role, method: String, certificateNames: [String] = []
    ) -> Result<APIKeys.Entry, QuiverError> {
        if header == nil, let entry = keys.match(certificateNames: certificateNames) { return authorize(entry, required: required, method: method) }
        guard let header, header.hasPrefix("Bearer "), header.count > "Bearer ".count else {
            return .failure(QuiverError(
                .unauthenticated, .missingCredentials,
                "\(method) needs an API key: send the header \"authorization: Bearer <key>\"",
                field: "authorization"))
        }
        guard let entry = keys.match(String(header.dropFirst("Bearer ".count))) else {
            return .failure(QuiverError(.unauthenticated, .invalidCredentials, "the API key is not known to this server", field: "authorization"))
        }
        return authorize(entry, required: required, method: method)
    }

    private static func authorize(_ entry: APIKeys.Entry, required: Role, method: String) -> Result<APIKeys.Entry, QuiverError> {
        guard entry.role >= required else {
            return .failure(
                QuiverError(
                    .permissionDenied, .insufficientRole,
                    "key \"\(entry.label)\" has role \(entry.role); \(method) needs \(required)",
                    field: "authorization", value: entry.role.description))
        }
        return .success(entry)
    }
}
