import QuiverCore
import QuiverEngine
import QuiverProto
import QuiverWire

struct SearchService: Sendable {
    let database: Database
    let calls: CallHandler

    func search(_ request: Quiver_V1_SearchRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_SearchResponse {
        try await calls.handle(call) { () async throws(QuiverError) in try await answer(request, call) }
    }

    /// One call for many searches: each request is answered in order once it has run; the
    /// first that fails ends the call with its status.
    func searchStream(_ requests: RequestStream, _ call: CallInfo, respond: @Sendable ([UInt8]) -> Void) async -> StreamOutcome {
        await calls.handleEach(call, requests: requests, respond: respond) { (message: Quiver_V1_SearchRequest) async throws(QuiverError) in
            try await answer(message, call)
        }
    }

    private func answer(_ request: Quiver_V1_SearchRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_SearchResponse {
        let collection = request.collection
        try call.admit(collection)
        let dimension = try database.schema(of: collection).dimension
        let queries = try PackedVectors.decodeRows(request.queries, dimension: dimension, what: "queries", collection: collection)
        let options = SearchOptions(
            includeVectors: request.includeVectors, fields: FieldSelection(names: request.outputFields, all: request.allFields),
            nprobe: request.params.nprobe > 0 ? Int(request.params.nprobe) : nil,
            recallTarget: request.params.recallTarget != 0 ? request.params.recallTarget : nil,
            filter: request.filter.isEmpty ? nil : request.filter)
        let (results, plan) = try await database.explainedSearch(collection, queries: queries, k: Int(request.k), options: options)
        let withHits = options.includeVectors || options.fields != .none
        return .with { response in
            if request.explain { response.explain = Quiver_V1_SearchExplain(plan) }
            response.results = results.map { hits in
                .with { result in
                    result.ids = hits.map(\.id.rawValue)
                    result.scores = hits.map(\.score)
                    if withHits {
                        result.hits = hits.map { hit in
                            .with {
                                if let vector = hit.vector { $0.vector = PackedVectors.encode(vector) }
                                $0.fields = .init(hit.fields ?? [:])
                            }
                        }
                    }
                }
            }
        }
    }
}
