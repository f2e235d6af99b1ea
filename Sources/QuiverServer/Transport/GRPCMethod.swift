import NIOCore
import QuiverAuth
import QuiverCore
import SwiftProtobuf

/// What the transport knows of a call while it runs: which method, from where.
struct CallInfo: Sendable {
    /// The method's call metrics.
    let series: CallSeries
    /// `quiver.v1.SearchService/Search`, for logs.
    let fullMethod: String
    /// The client's address, `ipv4:127.0.0.1:53412`.
    let peer: String
    /// The key the call was admitted with; nil when the server has no keys (or for Health).
    let caller: APIKeys.Entry?
    /// The role the method needs (`MethodAccess`): write and admin calls go to the audit log.
    let role: Role?

    /// Whether the call's key may touch `collection`.
    func inScope(_ collection: String) -> Bool { caller?.scope?.allows(collection) ?? true }

    /// Refuses a collection outside the key's scope as if it did not exist, so that a scoped key
    /// learns nothing of other tenants' collections.
    func admit(_ collection: String) throws(QuiverError) {
        guard inScope(collection) else { throw .collectionNotFound(collection) }
    }

    /// Refuses calls over the whole database (a backup) to keys scoped to some collections.
    func admitUnscoped(_ what: String) throws(QuiverError) {
        guard let caller, let scope = caller.scope else { return }
        throw QuiverError(
            .permissionDenied, .insufficientRole, "key \"\(caller.label)\" is scoped to collections \(scope); \(what) covers the whole database",
            field: "authorization")
    }
}

/// How a streaming call ended.
struct StreamOutcome: Sendable {
    /// The one response of a client-streaming call; nil for a bidirectional one.
    var response: [UInt8]?
    var error: QuiverError?
    /// Extra trailers (`quiver-committed-batches`).
    var trailers: [(String, String)] = []
}

/// One method of the gRPC transport: its path, the role it needs, and how request bytes become
/// response bytes.
struct GRPCMethod: Sendable {
    enum Body: Sendable {
        /// Answered on the connection's event loop, without a task: for methods that only read a
        /// flag (Health, Version), so that the calls a load balancer makes all the time stay cheap.
        case immediate(@Sendable (ByteBuffer) throws(QuiverError) -> [UInt8])
        /// One request, one response, in a task of its own.
        case unary(@Sendable (ByteBuffer, CallInfo) async throws(QuiverError) -> [UInt8])
        /// A stream of requests, in a task of its own; `respond` sends a response message at once
        /// (bidirectional calls).
        case streaming(@Sendable (RequestStream, CallInfo, _ respond: @escaping @Sendable ([UInt8]) -> Void) async -> StreamOutcome)
    }

    /// `/quiver.v1.SearchService/Search`.
    let path: String
    /// The role a key needs when the server has keys; nil: none (Health).
    let role: Role?
    /// Whether a graceful shutdown stops the call after the request it is answering
    /// (SearchStream: a client may keep it open indefinitely) rather than letting it finish.
    let stopsOnShutdown: Bool
    /// Its call metrics, under the method's name (`Search`).
    let series: CallSeries
    let body: Body

    init(name: String, path: String, role: Role?, stopsOnShutdown: Bool = false, body: Body) {
        self.path = path
        self.role = role
        self.stopsOnShutdown = stopsOnShutdown
        series = CallSeries(method: name)
        self.body = body
    }

    /// Decodes a request; malformed bytes are INVALID_ARGUMENT naming the message type.
    static func decode<Message: SwiftProtobuf.Message>(_ type: Message.Type, _ bytes: ByteBuffer) throws(QuiverError) -> Message {
        do {
            return try Message(serializedBytes: bytes.readableBytesSpan)
        } catch {
            throw QuiverError(
                .invalidArgument, .malformedRequest, "the request is not a valid \(Message.protoMessageName) message (\(error))",
                field: "message")
        }
    }

    static func encode(_ message: some SwiftProtobuf.Message) throws(QuiverError) -> [UInt8] {
        do {
            return try message.serializedBytes()
        } catch {
            throw QuiverError(.internal, .unknown, "could not encode the \(type(of: message).protoMessageName) response: \(error)")
        }
    }
}
