import GRPCCore
import QuiverCore
import QuiverEngine
import QuiverProto
import QuiverWire

struct CollectionService: Quiver_V1_CollectionService.SimpleServiceProtocol {
    let database: Database
    let calls: CallHandler

    func createCollection(
        request: Quiver_V1_CreateCollectionRequest, context: ServerContext
    ) async throws -> Quiver_V1_CreateCollectionResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            let info = try await database.createCollection(try request.schema.toDomain())
            return .with { $0.collection = Quiver_V1_CollectionInfo(info) }
        }
    }

    func listCollections(
        request: Quiver_V1_ListCollectionsRequest, context: ServerContext
    ) async throws -> Quiver_V1_ListCollectionsResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            let collections = try database.listCollections()
            return .with { $0.collections = collections.map(Quiver_V1_CollectionInfo.init) }
        }
    }

    func describeCollection(
        request: Quiver_V1_DescribeCollectionRequest, context: ServerContext
    ) async throws -> Quiver_V1_DescribeCollectionResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            let info = try database.describeCollection(request.name)
            return .with { $0.collection = Quiver_V1_CollectionInfo(info) }
        }
    }

    func dropCollection(
        request: Quiver_V1_DropCollectionRequest, context: ServerContext
    ) async throws -> Quiver_V1_DropCollectionResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            try await database.dropCollection(request.name)
            return Quiver_V1_DropCollectionResponse()
        }
    }
}
