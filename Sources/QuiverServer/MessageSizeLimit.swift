import GRPCCore
import GRPCProtobuf
import QuiverCore
import QuiverProto
import QuiverWire
import SwiftProtobuf

/// Enforces `--max-message-bytes` with a RESOURCE_EXHAUSTED status.
///
/// grpc-swift-nio-transport 2.9 answers a message over its own payload limit by resetting the
/// HTTP/2 stream, which clients see as UNAVAILABLE or CANCELLED without a reason. So the server
/// gives the transport twice the configured limit (a backstop against buffering unbounded
/// messages) and checks the configured limit itself, in the deserializer, where a thrown
/// `RPCError` becomes a proper status: RESOURCE_EXHAUSTED naming the size and the limit.
/// Messages over twice the limit still get the transport's stream reset.
/// Requests refused here never reach a handler, so they are counted here (`CallMetrics`).
struct LimitedDeserializer<Message: SwiftProtobuf.Message & Sendable>: MessageDeserializer {
    let limit: Int
    /// The method's name in the call metrics.
    let method: String

    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> Message {
        guard bytes.count <= limit else {
            CallMetrics.count(method, code: QuiverError.Code.resourceExhausted.rawValue)
            throw WireError.rpcError(
                QuiverError(
                    .resourceExhausted, .messageTooLarge,
                    "the request message is \(bytes.count) bytes; this server accepts at most \(limit) (--max-message-bytes)",
                    field: "message", value: String(bytes.count)))
        }
        do {
            return try ProtobufDeserializer<Message>().deserialize(bytes)
        } catch {
            CallMetrics.count(method, code: QuiverError.Code.invalidArgument.rawValue)
            throw error
        }
    }

    /// The transport's own limit for a configured one.
    static func transportLimit(for limit: Int) -> Int { min(limit * 2, Int(Int32.max)) }
}

/// All of Quiver's services, registered with `LimitedDeserializer` instead of the generated
/// code's plain one. Each line mirrors the generated `registerMethods`.
struct QuiverServices: RegistrableRPCService {
    let collections: CollectionService
    let data: DataService
    let search: SearchService
    let admin: AdminService
    let limit: Int

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        typealias C = Quiver_V1_CollectionService.Method
        typealias D = Quiver_V1_DataService.Method
        typealias S = Quiver_V1_SearchService.Method
        typealias A = Quiver_V1_AdminService.Method
        router.register(C.CreateCollection.descriptor, limit) { try await collections.createCollection(request: $0, context: $1) }
        router.register(C.ListCollections.descriptor, limit) { try await collections.listCollections(request: $0, context: $1) }
        router.register(C.DescribeCollection.descriptor, limit) { try await collections.describeCollection(request: $0, context: $1) }
        router.register(C.DropCollection.descriptor, limit) { try await collections.dropCollection(request: $0, context: $1) }
        router.register(D.Upsert.descriptor, limit) { try await data.upsert(request: $0, context: $1) }
        router.register(D.UpsertStream.descriptor, limit) { try await data.upsertStream(request: $0, context: $1) }
        router.register(D.Delete.descriptor, limit) { try await data.delete(request: $0, context: $1) }
        router.register(D.Get.descriptor, limit) { try await data.get(request: $0, context: $1) }
        router.register(D.Query.descriptor, limit) { try await data.query(request: $0, context: $1) }
        router.register(D.Count.descriptor, limit) { try await data.count(request: $0, context: $1) }
        router.register(S.Search.descriptor, limit) { try await search.search(request: $0, context: $1) }
        router.register(S.SearchStream.descriptor, limit) { try await search.searchStream(request: $0, context: $1) }
        router.register(A.Health.descriptor, limit) { try await admin.health(request: $0, context: $1) }
        router.register(A.Stats.descriptor, limit) { try await admin.stats(request: $0, context: $1) }
        router.register(A.Version.descriptor, limit) { try await admin.version(request: $0, context: $1) }
        router.register(A.ListSegments.descriptor, limit) { try await admin.listSegments(request: $0, context: $1) }
        router.register(A.ShowSegment.descriptor, limit) { try await admin.showSegment(request: $0, context: $1) }
        router.register(A.SealSegments.descriptor, limit) { try await admin.sealSegments(request: $0, context: $1) }
        router.register(A.CompactSegments.descriptor, limit) { try await admin.compactSegments(request: $0, context: $1) }
        router.register(A.RebuildSegment.descriptor, limit) { try await admin.rebuildSegment(request: $0, context: $1) }
        router.register(A.Backup.descriptor, limit) { try await admin.backup(request: $0, context: $1) }
    }
}

extension RPCRouter {
    fileprivate mutating func register<Input: SwiftProtobuf.Message & Sendable, Output: SwiftProtobuf.Message & Sendable>(
        _ method: MethodDescriptor, _ limit: Int,
        _ handler: @escaping @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) {
        registerHandler(
            forMethod: method, deserializer: LimitedDeserializer<Input>(limit: limit, method: method.method),
            serializer: ProtobufSerializer<Output>(), handler: handler)
    }
}
