import GRPCCore
import QuiverCore
import QuiverEngine
import QuiverProto
import QuiverWire
import Synchronization

struct DataService: Quiver_V1_DataService.SimpleServiceProtocol {
    let database: Database
    let calls: CallHandler

    func upsert(request: Quiver_V1_UpsertRequest, context: ServerContext) async throws -> Quiver_V1_UpsertResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            let result = try await upsertBatch(request)
            return .with {
                $0.inserted = UInt64(result.inserted)
                $0.replaced = UInt64(result.replaced)
                $0.batches = 1
            }
        }
    }

    /// Commits each message as its own batch, in order. The response to a batch is not awaited
    /// before the next message is read — the messages queue in the transport — but commits happen
    /// one after another, so the committed batches are always a prefix of the stream.
    func upsertStream(
        request: RPCAsyncSequence<Quiver_V1_UpsertRequest, any Error>, context: ServerContext
    ) async throws -> Quiver_V1_UpsertResponse {
        let committed = Atomic<Int>(0)
        do {
            return try await calls.handle(context) { () async throws(QuiverError) in
                var response = Quiver_V1_UpsertResponse()
                do {
                    for try await message in request {
                        let result = try await upsertBatch(message)
                        response.inserted += UInt64(result.inserted)
                        response.replaced += UInt64(result.replaced)
                        response.batches += 1
                        committed.add(1, ordering: .relaxed)
                    }
                } catch {
                    throw WireError.streamFailure(error)
                }
                return response
            }
        } catch var error as RPCError {
            error.metadata.addString(String(committed.load(ordering: .relaxed)), forKey: "quiver-committed-batches")
            throw error
        }
    }

    private func upsertBatch(_ request: Quiver_V1_UpsertRequest) async throws(QuiverError) -> UpsertResult {
        var records: [Record] = []
        records.reserveCapacity(request.records.count)
        for record in request.records {
            records.append(try record.toRecord(collection: request.collection))
        }
        return try await database.upsert(request.collection, records)
    }

    func delete(request: Quiver_V1_DeleteRequest, context: ServerContext) async throws -> Quiver_V1_DeleteResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            let deleted: Int
            if request.filter.isEmpty {
                deleted = try await database.delete(request.collection, ids: request.ids.map(RecordID.init(rawValue:)))
            } else {
                guard request.ids.isEmpty else {
                    throw .invalid(
                        .invalidFilter, "collection \"\(request.collection)\": delete by ids or by a filter, not both",
                        collection: request.collection, field: "filter", value: request.filter)
                }
                deleted = try await database.delete(request.collection, filter: request.filter)
            }
            return .with { $0.deleted = UInt64(deleted) }
        }
    }

    func query(request: Quiver_V1_QueryRequest, context: ServerContext) async throws -> Quiver_V1_GetResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            let records = try await database.query(
                request.collection, filter: request.filter.isEmpty ? nil : request.filter, limit: Int(request.limit),
                includeVectors: request.includeVectors, fields: FieldSelection(names: request.outputFields, all: request.allFields))
            return .with { $0.records = records.map(Quiver_V1_Record.init) }
        }
    }

    func count(request: Quiver_V1_CountRequest, context: ServerContext) async throws -> Quiver_V1_CountResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            let count = try await database.count(request.collection, filter: request.filter.isEmpty ? nil : request.filter)
            return .with { $0.count = UInt64(count) }
        }
    }

    func get(request: Quiver_V1_GetRequest, context: ServerContext) async throws -> Quiver_V1_GetResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            let records = try await database.get(
                request.collection, ids: request.ids.map(RecordID.init(rawValue:)), includeVectors: request.includeVectors,
                fields: FieldSelection(names: request.outputFields, all: request.allFields))
            return .with { $0.records = records.compactMap { $0.map(Quiver_V1_Record.init) } }
        }
    }
}
