import QuiverCore
import QuiverEngine
import QuiverProto
import QuiverWire

struct DataService: Sendable {
    let database: Database
    let calls: CallHandler

    func upsert(_ request: Quiver_V1_UpsertRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_UpsertResponse {
        try await calls.handle(call, collection: request.collection, records: { Int($0.inserted + $0.replaced) }) { () async throws(QuiverError) in
            let result = try await upsertBatch(request, call)
            return .with {
                $0.inserted = UInt64(result.inserted)
                $0.replaced = UInt64(result.replaced)
                $0.batches = 1
            }
        }
    }

    /// Commits each message as its own batch, in order. The response to a batch is not awaited
    /// before the next message is read — the messages queue in the transport — but commits happen
    /// one after another, so the committed batches are always a prefix of the stream. A failed
    /// stream says how many batches it committed (`quiver-committed-batches`).
    func upsertStream(_ requests: RequestStream, _ call: CallInfo) async -> StreamOutcome {
        var committed = 0
        var collection: String?
        do throws(QuiverError) {
            let response = try await calls.handle(call, collection: collection, records: { Int($0.inserted + $0.replaced) }) {
                () async throws(QuiverError) in
                var response = Quiver_V1_UpsertResponse()
                while true {
                    switch await requests.next() {
                    case .message(let bytes):
                        let request = try GRPCMethod.decode(Quiver_V1_UpsertRequest.self, bytes)
                        collection = request.collection
                        let result = try await upsertBatch(request, call)
                        response.inserted += UInt64(result.inserted)
                        response.replaced += UInt64(result.replaced)
                        response.batches += 1
                        committed += 1
                    case .end:
                        return response
                    case .stopped:
                        throw QuiverError(.unavailable, .serverUnavailable, "the server is shutting down")
                    case .failed(let error):
                        throw error
                    }
                }
            }
            return StreamOutcome(response: try GRPCMethod.encode(response))
        } catch {
            return StreamOutcome(error: error, trailers: [("quiver-committed-batches", String(committed))])
        }
    }

    private func upsertBatch(_ request: Quiver_V1_UpsertRequest, _ call: CallInfo) async throws(QuiverError) -> UpsertResult {
        try call.admit(request.collection)
        var records: [Record] = []
        if request.hasColumns {
            guard request.records.isEmpty else {
                throw .invalid(
                    .malformedRequest, "collection \"\(request.collection)\": an upsert gives records or columns, not both",
                    collection: request.collection, field: "columns")
            }
            records = try request.columns.toRecords(collection: request.collection)
        } else {
            records.reserveCapacity(request.records.count)
            for record in request.records {
                records.append(try record.toRecord(collection: request.collection))
            }
        }
        return try await database.upsert(request.collection, records)
    }

    func delete(_ request: Quiver_V1_DeleteRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_DeleteResponse {
        try await calls.handle(call, collection: request.collection, records: { Int($0.deleted) }) { () async throws(QuiverError) in
            try call.admit(request.collection)
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

    func query(_ request: Quiver_V1_QueryRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_GetResponse {
        try await calls.handle(call) { () async throws(QuiverError) in
            try call.admit(request.collection)
            let records = try await database.query(
                request.collection, filter: request.filter.isEmpty ? nil : request.filter, limit: Int(request.limit),
                includeVectors: request.includeVectors, fields: FieldSelection(names: request.outputFields, all: request.allFields))
            return .with { $0.records = records.map(Quiver_V1_Record.init) }
        }
    }

    func count(_ request: Quiver_V1_CountRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_CountResponse {
        try await calls.handle(call) { () async throws(QuiverError) in
            try call.admit(request.collection)
            let count = try await database.count(request.collection, filter: request.filter.isEmpty ? nil : request.filter)
            return .with { $0.count = UInt64(count) }
        }
    }

    func get(_ request: Quiver_V1_GetRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_GetResponse {
        try await calls.handle(call) { () async throws(QuiverError) in
            try call.admit(request.collection)
            let records = try await database.get(
                request.collection, ids: request.ids.map(RecordID.init(rawValue:)), includeVectors: request.includeVectors,
                fields: FieldSelection(names: request.outputFields, all: request.allFields))
            return .with { $0.records = records.compactMap { $0.map(Quiver_V1_Record.init) } }
        }
    }
}
