import GRPCCore
import QuiverCore

/// The one place where `QuiverError` and gRPC status meet, in both directions.
///
/// A Quiver error travels as a gRPC status with the matching code and the error's message, plus
/// trailing metadata that lets any client recover the details:
///
/// | key | value |
/// | --- | --- |
/// | `quiver-code` | `QuiverError.Code` raw value, e.g. `invalidArgument` |
/// | `quiver-reason` | `QuiverError.Reason` raw value, e.g. `dimensionMismatch` |
/// | `quiver-collection-bin` | the collection name, UTF-8 |
/// | `quiver-field-bin` | the offending field (`vector`, `k`, a field name…), UTF-8 |
/// | `quiver-value-bin` | the offending value as text, UTF-8 |
///
/// The `-bin` keys are binary metadata (base64 on the wire) because names and values need not be
/// ASCII.
public enum WireError {
    public static let codeKey = "quiver-code"
    public static let reasonKey = "quiver-reason"
    public static let collectionKey = "quiver-collection-bin"
    public static let fieldKey = "quiver-field-bin"
    public static let valueKey = "quiver-value-bin"

    /// The gRPC status code for an error code.
    public static func statusCode(_ code: QuiverError.Code) -> RPCError.Code {
        switch code {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        case .unauthenticated: .unauthenticated
        case .permissionDenied: .permissionDenied
        case .unimplemented: .unimplemented
        case .resourceExhausted: .resourceExhausted
        case .unavailable: .unavailable
        case .cancelled: .cancelled
        case .deadlineExceeded: .deadlineExceeded
        case .corruption: .dataLoss
        case .io, .internal: .internalError
        }
    }

    public static func rpcError(_ error: QuiverError) -> RPCError {
        var metadata = Metadata()
        metadata.addString(error.code.rawValue, forKey: codeKey)
        metadata.addString(error.reason.rawValue, forKey: reasonKey)
        if let collection = error.collection { metadata.addBinary(Array(collection.utf8), forKey: collectionKey) }
        if let field = error.field { metadata.addBinary(Array(field.utf8), forKey: fieldKey) }
        if let value = error.value { metadata.addBinary(Array(value.utf8), forKey: valueKey) }
        return RPCError(code: statusCode(error.code), message: error.message, metadata: metadata)
    }

    /// Recovers the `QuiverError` a Quiver server sent, or describes an error that came from the
    /// transport (connection refused, message too large, deadline passed) in the same terms.
    public static func quiverError(_ error: RPCError) -> QuiverError {
        let metadata = error.metadata
        func string(_ key: String) -> String? { metadata[stringValues: key].first(where: { _ in true }) }
        func binary(_ key: String) -> String? {
            metadata[binaryValues: key].first(where: { _ in true }).map { String(decoding: $0, as: UTF8.self) }
        }
        if let code = string(codeKey).flatMap(QuiverError.Code.init(rawValue:)),
            let reason = string(reasonKey).flatMap(QuiverError.Reason.init(rawValue:))
        {
            return QuiverError(
                code, reason, error.message, collection: binary(collectionKey), field: binary(fieldKey),
                value: binary(valueKey))
        }
        let (code, reason) = transportError(error.code)
        return QuiverError(code, reason, error.message.isEmpty ? "\(error.code)" : error.message)
    }

    /// Any error a client call can throw, as a `QuiverError`.
    public static func quiverError(_ error: any Error) -> QuiverError {
        switch error {
        case let error as QuiverError: error
        case let error as RPCError: quiverError(error)
        case is CancellationError: .cancelled
        case let error as RuntimeError:
            QuiverError(.unavailable, .serverUnavailable, "cannot reach the server: \(error.message)")
        default: QuiverError(.internal, .unknown, "\(error)")
        }
    }

    /// What ended a server's streaming call: Quiver's own error, the transport's (a request too
    /// large or malformed, the call cancelled) or anything else from reading the client's stream.
    public static func streamFailure(_ error: any Error) -> QuiverError {
        switch error {
        case let error as QuiverError: error
        case let error as RPCError: quiverError(error)
        default: QuiverError(.cancelled, .cancelled, "the request stream failed: \(error)")
        }
    }

    private static func transportError(_ code: RPCError.Code) -> (QuiverError.Code, QuiverError.Reason) {
        switch code {
        case .invalidArgument: (.invalidArgument, .malformedRequest)
        case .notFound: (.notFound, .unknown)
        case .alreadyExists: (.alreadyExists, .unknown)
        case .failedPrecondition: (.failedPrecondition, .unknown)
        case .unauthenticated: (.unauthenticated, .missingCredentials)
        case .permissionDenied: (.permissionDenied, .insufficientRole)
        case .unimplemented: (.unimplemented, .methodNotSupported)
        // The transport's own limit on message size.
        case .resourceExhausted: (.resourceExhausted, .messageTooLarge)
        case .unavailable: (.unavailable, .serverUnavailable)
        case .cancelled: (.cancelled, .cancelled)
        case .deadlineExceeded: (.deadlineExceeded, .deadlineExceeded)
        case .dataLoss: (.corruption, .corruptData)
        default: (.internal, .unknown)
        }
    }
}
