import QuiverCore
import QuiverEngine
import QuiverProto
import QuiverWire

struct CollectionService: Sendable {
    let database: Database
    let calls: CallHandler

    func createCollection(_ request: Quiver_V1_CreateCollectionRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_CreateCollectionResponse {
        try await calls.handle(call) { () async throws(QuiverError) in
            let info = try await database.createCollection(try request.schema.toDomain())
            return .with { $0.collection = Quiver_V1_CollectionInfo(info) }
        }
    }

    func listCollections(_ request: Quiver_V1_ListCollectionsRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_ListCollectionsResponse {
        try await calls.handle(call) { () async throws(QuiverError) in
            let collections = try database.listCollections()
            return .with { $0.collections = collections.map(Quiver_V1_CollectionInfo.init) }
        }
    }

    func describeCollection(_ request: Quiver_V1_DescribeCollectionRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_DescribeCollectionResponse {
        try await calls.handle(call) { () async throws(QuiverError) in
            let info = try database.describeCollection(request.name)
            return .with { $0.collection = Quiver_V1_CollectionInfo(info) }
        }
    }

    func dropCollection(_ request: Quiver_V1_DropCollectionRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_DropCollectionResponse {
        try await calls.handle(call) { () async throws(QuiverError) in
            try await database.dropCollection(request.name)
            return Quiver_V1_DropCollectionResponse()
        }
    }
}
