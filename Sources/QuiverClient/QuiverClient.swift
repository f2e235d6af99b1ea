import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import QuiverCore
import QuiverProto
import QuiverWire

/// An async client for a Quiver server, used by the `quiver` CLI, the tests and any Swift service.
///
/// Open one with `QuiverClient.withClient(_:_:)`, which connects, runs the body and closes the
/// connection. Every call throws `QuiverError`: the server's errors come back with their code,
/// reason, collection, field and value; transport failures as `unavailable` /
/// `serverUnavailable`, a passed deadline as `deadlineExceeded`.
public struct QuiverClient: Sendable {
    public struct Options: Sendable {
        /// Default `127.0.0.1:7733`.
        public var server: ServerAddress
        /// Sent as `authorization: Bearer <key>` when set.
        public var apiKey: String?
        /// Deadline of each call; none by default.
        public var timeout: Duration?
        /// Largest message sent or received. Default 64 MiB, the server's default limit.
        public var maxMessageBytes: Int
        /// Set: connect over TLS (the server must run with `--tls-cert`); nil: plaintext.
        public var tls: TLS?

        public init(
            server: ServerAddress = .loopbackDefault, apiKey: String? = nil, timeout: Duration? = nil,
            maxMessageBytes: Int = 64 << 20, tls: TLS? = nil
        ) {
            self.server = server
            self.apiKey = apiKey
            self.timeout = timeout
            self.maxMessageBytes = maxMessageBytes
            self.tls = tls
        }
    }

    /// How the client verifies the server and, for mTLS, proves who it is.
    public struct TLS: Sendable, Equatable {
        /// PEM certificates of the CAs to trust for the server's certificate; nil: the system's.
        public var caFile: String?
        /// PEM client certificate chain and its key, for a server that requires client
        /// certificates (`--tls-client-ca`).
        public var certificateFile: String?
        public var keyFile: String?

        public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    typealias Transport = HTTP2ClientTransport.Posix

    public let options: Options
    private let collections: Quiver_V1_CollectionService.Client<Transport>
    private let data: Quiver_V1_DataService.Client<Transport>
    private let searcher: Quiver_V1_SearchService.Client<Transport>
    private let admin: Quiver_V1_AdminService.Client<Transport>

    private init(grpc: GRPCClient<Transport>, options: Options) {
        self.options = options
        collections = .init(wrapping: grpc)
        data = .init(wrapping: grpc)
        searcher = .init(wrapping: grpc)
        admin = .init(wrapping: grpc)
    }

    /// The records per batch that `quiver import` sends by default, and a good choice for any
    /// bulk load through `upsert`: per-call costs dominate small batches (1,000 rows of 128 floats
    /// through the server: 84,000 rows/s; 5,000: 118,000 — docs/benchmarks.md, "Bulk import"), and
    /// about 8 MiB keeps a batch far below the server's message limit at any dimension.
    public static func defaultBatchRecords(dimension: Int) -> Int { max(1, min(5_000, (8 << 20) / (dimension * 4 + 64))) }

    /// Connects to the server, runs `body` with a client, and closes the connection when `body`
    /// returns or throws.
    public static func withClient<T: Sendable>(
        _ options: Options = Options(), _ body: (QuiverClient) async throws -> T
    ) async throws -> T {
        let target: any ResolvableTarget =
            options.server.isIPv6
            ? .ipv6(address: options.server.host, port: options.server.port)
            : options.server.host == "localhost"
                ? .ipv4(address: "127.0.0.1", port: options.server.port)
                // An address, not a name: with TLS the server's certificate is checked against
                // it (an IP SAN), and it is never sent as SNI.
                : options.server.isIPv4
                    ? .ipv4(address: options.server.host, port: options.server.port)
                    : .dns(host: options.server.host, port: options.server.port)
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try HTTP2ClientTransport.Posix(
                target: target, transportSecurity: try transportSecurity(options.tls), config: .defaults { $0.connection.flushCoalescing = nil })
        } catch let error as QuiverError {
            throw error
        } catch {
            throw QuiverError(.invalidArgument, .malformedRequest, "cannot set up TLS: \(error)")
        }
        return try await withGRPCClient(transport: transport) { grpc in
            try await body(QuiverClient(grpc: grpc, options: options))
        }
    }

    /// The files are read here, so that a missing or malformed one is named before any connection.
    private static func transportSecurity(_ tls: TLS?) throws -> HTTP2ClientTransport.Posix.TransportSecurity {
        guard let tls else { return .plaintext }
        func readable(_ what: String, _ path: String) throws(QuiverError) -> String {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw QuiverError(.invalidArgument, .malformedRequest, "cannot read the \(what) \(path)", value: path)
            }
            return path
        }
        let ca = try tls.caFile.map { path throws(QuiverError) in try readable("TLS CA file", path) }
        guard (tls.certificateFile == nil) == (tls.keyFile == nil) else {
            throw QuiverError(.invalidArgument, .malformedRequest, "a TLS client certificate needs its key, and a key its certificate")
        }
        let certificate = try tls.certificateFile.map { path throws(QuiverError) in try readable("TLS client certificate", path) }
        let key = try tls.keyFile.map { path throws(QuiverError) in try readable("TLS client key", path) }
        return .tls { config in
            if let ca { config.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
            if let certificate, let key {
                config.certificateChain = [.file(path: certificate, format: .pem)]
                config.privateKey = .file(path: key, format: .pem)
            }
        }
    }

    // MARK: Calls

    private var callOptions: CallOptions {
        var call = CallOptions.defaults
        call.timeout = options.timeout
        call.maxRequestMessageBytes = options.maxMessageBytes
        call.maxResponseMessageBytes = options.maxMessageBytes
        return call
    }

    private var metadata: Metadata {
        var metadata = Metadata()
        if let key = options.apiKey { metadata.addString("Bearer \(key)", forKey: "authorization") }
        return metadata
    }

    /// Runs one call, turning every failure into a `QuiverError`.
    private func call<T: Sendable>(_ body: () async throws -> T) async throws(QuiverError) -> T {
        do {
            return try await body()
        } catch let error as RPCError where error.code == .unavailable {
            throw await ConnectionFailure.describe(error, options: options) ?? WireError.quiverError(error)
        } catch {
            throw WireError.quiverError(error)
        }
    }

    // MARK: Admin

    /// Whether the server answers and is serving (not shutting down). Needs no key.
    public func health() async throws(QuiverError) -> Bool {
        let response = try await call {
            try await admin.health(Quiver_V1_HealthRequest(), metadata: metadata, options: callOptions)
        }
        return response.status == .serving
    }

    public func version() async throws(QuiverError) -> (version: String, protocol: String) {
        let response = try await call {
            try await admin.version(Quiver_V1_VersionRequest(), metadata: metadata, options: callOptions)
        }
        return (response.version, response.protocol)
    }

    public func stats() async throws(QuiverError) -> ServerStats {
        let response = try await call {
            try await admin.stats(Quiver_V1_StatsRequest(), metadata: metadata, options: callOptions)
        }
        return ServerStats(response)
    }

    // MARK: Segments (admin role)

    /// The collection's segments, and whether background work is pending for it.
    public func listSegments(_ collection: String) async throws(QuiverError) -> (segments: [SegmentInfo], pending: Bool) {
        let response = try await call {
            try await admin.listSegments(.with { $0.collection = collection }, metadata: metadata, options: callOptions)
        }
        return (response.segments.map(\.domain), response.pending)
    }

    /// A segment with the health of its index; `checkRecall` > 0 runs the recall self-check.
    public func segmentHealth(_ collection: String, segment: SegmentID, checkRecall: Int = 0) async throws(QuiverError) -> SegmentHealth {
        let response = try await call {
            try await admin.showSegment(
                .with {
                    $0.collection = collection
                    $0.segment = segment.rawValue
                    $0.checkRecall = UInt32(clamping: checkRecall)
                }, metadata: metadata, options: callOptions)
        }
        return response.domain
    }

    /// What the segment operations can do.
    public enum SegmentOperation: Sendable {
        case seal
        case compact
        case rebuild(SegmentID)
    }

    /// Seals, compacts or rebuilds; with `wait`, returns once the background work it caused is
    /// done. Returns the collection's segments afterwards.
    public func segments(
        _ collection: String, _ operation: SegmentOperation, wait: Bool = false
    ) async throws(QuiverError) -> (segments: [SegmentInfo], pending: Bool) {
        var request = Quiver_V1_SegmentsRequest.with {
            $0.collection = collection
            $0.wait = wait
        }
        let response = try await call {
            switch operation {
            case .seal: return try await admin.sealSegments(request, metadata: metadata, options: callOptions)
            case .compact: return try await admin.compactSegments(request, metadata: metadata, options: callOptions)
            case .rebuild(let segment):
                request.segment = segment.rawValue
                return try await admin.rebuildSegment(request, metadata: metadata, options: callOptions)
            }
        }
        return (response.segments.map(\.domain), response.pending)
    }

    /// A consistent backup of the whole database into `destination`, a directory on the
    /// server's machine (admin role).
    public func backup(to destination: String) async throws(QuiverError) -> BackupSummary {
        let response = try await call {
            try await admin.backup(.with { $0.destination = destination }, metadata: metadata, options: callOptions)
        }
        return BackupSummary(
            path: response.path, collections: Int(response.collections), rows: nil, segmentFiles: Int(response.segmentFiles),
            bytes: Int(response.bytes))
    }

    /// Asks the server to read its API keys file and TLS files again (needs an unscoped admin
    /// key), as SIGHUP does. Throws `failedPrecondition`/`credentialsNotReloaded` when a file
    /// fails to load; the server then keeps the keys and certificate it had.
    public func reloadCredentials() async throws(QuiverError) -> CredentialsReload {
        let response = try await call {
            try await admin.reloadCredentials(Quiver_V1_ReloadCredentialsRequest(), metadata: metadata, options: callOptions)
        }
        return CredentialsReload(summary: response.reloaded, keys: Int(response.keys), tls: response.tls)
    }

    // MARK: Collections

    public func createCollection(_ schema: CollectionSchema) async throws(QuiverError) -> CollectionInfo {
        let response = try await call {
            try await collections.createCollection(
                .with { $0.schema = Quiver_V1_CollectionSchema(schema) }, metadata: metadata, options: callOptions)
        }
        return try response.collection.toDomain()
    }

    /// Every collection, sorted by name.
    public func listCollections() async throws(QuiverError) -> [CollectionInfo] {
        let response = try await call {
            try await collections.listCollections(Quiver_V1_ListCollectionsRequest(), metadata: metadata, options: callOptions)
        }
        var infos: [CollectionInfo] = []
        for info in response.collections { infos.append(try info.toDomain()) }
        return infos
    }

    public func describeCollection(_ name: String) async throws(QuiverError) -> CollectionInfo {
        let response = try await call {
            try await collections.describeCollection(.with { $0.name = name }, metadata: metadata, options: callOptions)
        }
        return try response.collection.toDomain()
    }

    public func dropCollection(_ name: String) async throws(QuiverError) {
        _ = try await call {
            try await collections.dropCollection(.with { $0.name = name }, metadata: metadata, options: callOptions)
        }
    }

    // MARK: Data

    /// Inserts or replaces a batch of records atomically.
    ///
    /// Sent as columns (`RecordColumns`), which the server decodes many times faster than a
    /// message per record once records have fields (`quiver-bench wire`, docs/benchmarks.md);
    /// as rows when the batch has no column form (a field holding values of two types).
    public func upsert(_ collection: String, _ records: [Record]) async throws(QuiverError) -> UpsertResult {
        let request = Self.upsertRequest(collection, records)
        let response = try await call { try await data.upsert(request, metadata: metadata, options: callOptions) }
        return UpsertResult(inserted: Int(response.inserted), replaced: Int(response.replaced))
    }

    /// Streams batches in one call (`UpsertStream`); each batch is committed atomically as it
    /// arrives at the server. On an error, the batches committed before it stay committed.
    ///
    /// - Parameter batches: produces the batches; it is iterated while the call is open.
    /// - Returns: the totals over all batches and the number of batches committed.
    public func upsertStream<Batches: AsyncSequence & Sendable>(
        _ collection: String, batches: Batches
    ) async throws(QuiverError) -> (result: UpsertResult, batches: Int) where Batches.Element == [Record] {
        let request = StreamingClientRequest<Quiver_V1_UpsertRequest>(metadata: metadata) { writer in
            for try await batch in batches {
                try await writer.write(Self.upsertRequest(collection, batch))
            }
        }
        let response = try await call { try await data.upsertStream(request: request, options: callOptions) }
        return (UpsertResult(inserted: Int(response.inserted), replaced: Int(response.replaced)), Int(response.batches))
    }

    private static func upsertRequest(_ collection: String, _ records: [Record]) -> Quiver_V1_UpsertRequest {
        .with {
            $0.collection = collection
            // An empty batch has no columns; the rows form lets the server say it is empty.
            if !records.isEmpty, let columns = Quiver_V1_RecordColumns(records) {
                $0.columns = columns
            } else {
                $0.records = records.map(Quiver_V1_Record.init)
            }
        }
    }

    /// Deletes by id, atomically; returns how many records were deleted.
    public func delete(_ collection: String, ids: [RecordID]) async throws(QuiverError) -> Int {
        let response = try await call {
            try await data.delete(
                .with {
                    $0.collection = collection
                    $0.ids = ids.map(\.rawValue)
                }, metadata: metadata, options: callOptions)
        }
        return Int(response.deleted)
    }

    /// The records with these ids, aligned with `ids`; `nil` where no live record exists.
    public func get(
        _ collection: String, ids: [RecordID], includeVectors: Bool = true, fields: FieldSelection = .all
    ) async throws(QuiverError) -> [StoredRecord?] {
        let response = try await call {
            try await data.get(
                .with {
                    $0.collection = collection
                    $0.ids = ids.map(\.rawValue)
                    $0.includeVectors = includeVectors
                    fields.apply(names: &$0.outputFields, all: &$0.allFields)
                }, metadata: metadata, options: callOptions)
        }
        var byID: [RecordID: StoredRecord] = [:]
        for record in response.records {
            let stored = try record.toStoredRecord(collection: collection)
            byID[stored.id] = stored
        }
        return ids.map { byID[$0] }
    }

    /// Deletes every live record that passes `filter` (docs/filters.md), atomically.
    public func delete(_ collection: String, filter: String) async throws(QuiverError) -> Int {
        let response = try await call {
            try await data.delete(
                .with {
                    $0.collection = collection
                    $0.filter = filter
                }, metadata: metadata, options: callOptions)
        }
        return Int(response.deleted)
    }

    /// The live records that pass `filter` (all when `nil`), ascending by id, at most `limit`.
    public func query(
        _ collection: String, filter: String?, limit: Int, includeVectors: Bool = false, fields: FieldSelection = .all
    ) async throws(QuiverError) -> [StoredRecord] {
        let response = try await call {
            try await data.query(
                .with {
                    $0.collection = collection
                    $0.filter = filter ?? ""
                    $0.limit = UInt32(clamping: limit)
                    $0.includeVectors = includeVectors
                    fields.apply(names: &$0.outputFields, all: &$0.allFields)
                }, metadata: metadata, options: callOptions)
        }
        var records: [StoredRecord] = []
        for record in response.records { records.append(try record.toStoredRecord(collection: collection)) }
        return records
    }

    /// The number of live records that pass `filter` (all when `nil`).
    public func count(_ collection: String, filter: String? = nil) async throws(QuiverError) -> Int {
        let response = try await call {
            try await data.count(
                .with {
                    $0.collection = collection
                    $0.filter = filter ?? ""
                }, metadata: metadata, options: callOptions)
        }
        return Int(response.count)
    }

    /// k-nearest-neighbour search; one hit list per query, best first.
    public func search(
        _ collection: String, queries: [[Float]], k: Int, options: SearchOptions = SearchOptions()
    ) async throws(QuiverError) -> [[SearchHit]] {
        try await explainedSearch(collection, queries: queries, k: k, options: options, explain: false).hits
    }

    /// `search`, with the server's plan when `explain` is set: the filter's pass counts and each
    /// segment's strategy and nprobe.
    public func explainedSearch(
        _ collection: String, queries: [[Float]], k: Int, options: SearchOptions = SearchOptions(), explain: Bool = true
    ) async throws(QuiverError) -> (hits: [[SearchHit]], plan: SearchPlan?) {
        let request = Quiver_V1_SearchRequest(collection, queries: queries, k: k, options: options, explain: explain)
        let response = try await call { try await searcher.search(request, metadata: metadata, options: callOptions) }
        return try response.answer(collection: collection, options: options)
    }

    /// Opens a `SearchSession` (one `SearchStream` call), runs `body` with it, and closes it when
    /// `body` returns or throws. Searches sent by then are answered first.
    public func withSearchSession<T: Sendable>(_ body: (SearchSession) async throws -> T) async throws -> T {
        let (requests, sending) = AsyncStream.makeStream(of: Quiver_V1_SearchRequest.self)
        let session = SearchSession(requests: sending)
        var options = callOptions
        options.timeout = nil
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [searcher, metadata, options] in
                do {
                    try await searcher.searchStream(
                        metadata: metadata, options: options,
                        requestProducer: { writer in
                            for await request in requests { try await writer.write(request) }
                        },
                        onResponse: { response in
                            for try await answer in response.messages { session.deliver(answer) }
                        })
                    session.end(nil)
                } catch {
                    session.end(WireError.quiverError(error))
                }
            }
            defer { sending.finish() }
            let result = try await body(session)
            sending.finish()
            try await group.waitForAll()
            return result
        }
    }
}

extension Quiver_V1_SearchRequest {
    init(_ collection: String, queries: [[Float]], k: Int, options: SearchOptions, explain: Bool) {
        self = .with {
            $0.collection = collection
            $0.queries = PackedVectors.encode(queries)
            $0.k = UInt32(clamping: k)
            $0.includeVectors = options.includeVectors
            options.fields.apply(names: &$0.outputFields, all: &$0.allFields)
            if let nprobe = options.nprobe { $0.params.nprobe = UInt32(clamping: nprobe) }
            if let target = options.recallTarget { $0.params.recallTarget = target }
            $0.filter = options.filter ?? ""
            $0.explain = explain
        }
    }
}

extension Quiver_V1_SearchResponse {
    /// The hit lists and, when the request asked for it, the plan.
    func answer(collection: String, options: SearchOptions) throws(QuiverError) -> (hits: [[SearchHit]], plan: SearchPlan?) {
        (try hits(collection: collection, options: options), hasExplain ? explain.domain : nil)
    }

    /// The hit lists, one per query; fields only when `options` asked for them.
    private func hits(collection: String, options: SearchOptions) throws(QuiverError) -> [[SearchHit]] {
        var lists: [[SearchHit]] = []
        lists.reserveCapacity(results.count)
        for result in results {
            var hits: [SearchHit] = []
            hits.reserveCapacity(result.ids.count)
            for (i, (id, score)) in zip(result.ids, result.scores).enumerated() {
                var hit = SearchHit(id: RecordID(id), score: score)
                if i < result.hits.count {
                    let extra = result.hits[i]
                    if !extra.vector.isEmpty {
                        hit.vector = try PackedVectors.decode(extra.vector, what: "hit \(id) vector", collection: collection)
                    }
                    if options.fields != .none { hit.fields = extra.fields.domain }
                }
                hits.append(hit)
            }
            lists.append(hits)
        }
        return lists
    }
}

extension FieldSelection {
    /// Writes the selection into a request's name list and "all fields" flag.
    func apply(names: inout [String], all: inout Bool) {
        switch self {
        case .none: break
        case .all: all = true
        case .only(let selected): names = selected
        }
    }
}
