import QuiverCore
import QuiverEngine
import QuiverProto
import QuiverWire

struct CollectionService: Sendable {
    let database: Database
    let calls: CallHandler

    func createCollection(_ request: Quiver_V1_CreateCollectionRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_CreateCollectionResponse {
        try await calls.handle(call, collection: request.schema.name) { () async throws(QuiverError) in
            if !call.inScope(request.schema.name), let caller = call.caller {
                throw QuiverError(
                    .permissionDenied, .insufficientRole,
                    "key \"\(caller.label)\" may not create collection \"\(request.schema.name)\": it is scoped to \(caller.scope!)",
                    collection: request.schema.name, field: "authorization")
            }
            let info = try await database.createCollection(try request.schema.toDomain())
            return .with { $0.collection = Quiver_V1_CollectionInfo(info) }
        }
    }

    func listCollections(_ request: Quiver_V1_ListCollectionsRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_ListCollectionsResponse {
        try await calls.handle(call) { () async throws(QuiverError) in
            let collections = try database.listCollections().filter { call.inScope($0.name) }
            return .with { $0.collections = collections.map(Quiver_V1_CollectionInfo.init) }
        }
    }

    func describeCollection(_ request: Quiver_V1_DescribeCollectionRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_DescribeCollectionResponse {
        try await calls.handle(call) { () async throws(QuiverError) in
            try call.admit(request.name)
            let info = try database.describeCollection(request.name)
            return .with { $0.collection = Quiver_V1_CollectionInfo(info) }
        }
    }

    func dropCollection(_ request: Quiver_V1_DropCollectionRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_DropCollectionResponse {
        try await calls.handle(call, collection: request.name) { () async throws(QuiverError) in
            try call.admit(request.name)
            try await database.dropCollection(request.name)
            return Quiver_V1_DropCollectionResponse()
        }
    }
}
