import GRPCCore
import NIOCore
import QuiverCore
import QuiverProto
import SwiftProtobuf

/// The methods of `proto/quiver/v1` as the transport serves them, by path. Each line names the
/// generated method descriptor (so a renamed method fails to compile) and the service function.
enum QuiverMethods {
    static func table(collections: CollectionService, data: DataService, search: SearchService, admin: AdminService) -> [String: GRPCMethod] {
        typealias C = Quiver_V1_CollectionService.Method
        typealias D = Quiver_V1_DataService.Method
        typealias S = Quiver_V1_SearchService.Method
        typealias A = Quiver_V1_AdminService.Method
        let methods: [GRPCMethod] = [
            unary(C.CreateCollection.descriptor, collections.createCollection),
            unary(C.ListCollections.descriptor, collections.listCollections),
            unary(C.DescribeCollection.descriptor, collections.describeCollection),
            unary(C.DropCollection.descriptor, collections.dropCollection),
            unary(D.Upsert.descriptor, data.upsert),
            streaming(D.UpsertStream.descriptor, stopsOnShutdown: false) { requests, call, _ in await data.upsertStream(requests, call) },
            unary(D.Delete.descriptor, data.delete),
            unary(D.Get.descriptor, data.get),
            unary(D.Query.descriptor, data.query),
            unary(D.Count.descriptor, data.count),
            unary(S.Search.descriptor, search.search),
            streaming(S.SearchStream.descriptor, stopsOnShutdown: true) { requests, call, respond in
                await search.searchStream(requests, call, respond: respond)
            },
            immediate(A.Health.descriptor, admin.health),
            unary(A.Stats.descriptor, admin.stats),
            immediate(A.Version.descriptor, admin.version),
            unary(A.ListSegments.descriptor, admin.listSegments),
            unary(A.ShowSegment.descriptor, admin.showSegment),
            unary(A.SealSegments.descriptor, admin.sealSegments),
            unary(A.CompactSegments.descriptor, admin.compactSegments),
            unary(A.RebuildSegment.descriptor, admin.rebuildSegment),
            unary(A.Backup.descriptor, admin.backup),
            unary(A.ReloadCredentials.descriptor, admin.reload),
        ]
        return Dictionary(uniqueKeysWithValues: methods.map { ($0.path, $0) })
    }

    private static func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ descriptor: MethodDescriptor, _ handler: @escaping @Sendable (Request, CallInfo) async throws(QuiverError) -> Response
    ) -> GRPCMethod {
        GRPCMethod(
            descriptor,
            body: .unary { (bytes, call) async throws(QuiverError) in
                let request: Request
                do throws(QuiverError) {
                    request = try GRPCMethod.decode(Request.self, bytes)
                } catch {
                    call.series.count(error.code)
                    throw error
                }
                return try GRPCMethod.encode(try await handler(request, call))
            })
    }

    private static func immediate<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ descriptor: MethodDescriptor, _ handler: @escaping @Sendable (Request) -> Response
    ) -> GRPCMethod {
        GRPCMethod(
            descriptor,
            body: .immediate { (bytes) throws(QuiverError) in try GRPCMethod.encode(handler(try GRPCMethod.decode(Request.self, bytes))) })
    }

    private static func streaming(
        _ descriptor: MethodDescriptor, stopsOnShutdown: Bool,
        _ body: @escaping @Sendable (RequestStream, CallInfo, @escaping @Sendable ([UInt8]) -> Void) async -> StreamOutcome
    ) -> GRPCMethod {
        GRPCMethod(descriptor, stopsOnShutdown: stopsOnShutdown, body: .streaming(body))
    }
}

extension GRPCMethod {
    /// The method `descriptor` names: its path, and the role `MethodAccess` gives it.
    init(_ descriptor: MethodDescriptor, stopsOnShutdown: Bool = false, body: Body) {
        self.init(
            name: descriptor.method, path: "/" + descriptor.fullyQualifiedMethod, role: MethodAccess.role(for: descriptor),
            stopsOnShutdown: stopsOnShutdown, body: body)
    }
}
