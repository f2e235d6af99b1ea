import GRPCCore
import QuiverCore
import QuiverEngine
import QuiverProto
import Synchronization

struct AdminService: Quiver_V1_AdminService.SimpleServiceProtocol {
    let database: Database
    let state: ServerState
    let calls: CallHandler

    /// Answers without the call handler (no access-log line, no deadline bridging) so that a
    /// load balancer's frequent checks stay cheap; the call is still counted.
    func health(request: Quiver_V1_HealthRequest, context: ServerContext) async throws -> Quiver_V1_HealthResponse {
        CallMetrics.count(context.descriptor.method, code: "ok")
        return .with { $0.status = state.isServing ? .serving : .notServing }
    }

    func stats(request: Quiver_V1_StatsRequest, context: ServerContext) async throws -> Quiver_V1_StatsResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            let collections = try database.listCollections()
            let statistics = database.statistics
            let diskBytes = database.diskBytes
            return .with {
                $0.collections = collections.map { info in
                    .with {
                        $0.name = info.name
                        $0.rows = UInt64(info.rows)
                        $0.memoryBytes = UInt64(info.memoryBytes)
                        for segment in info.segments { $0.segments[segment.phase.rawValue, default: 0] += 1 }
                        $0.diskBytes = UInt64(info.segments.reduce(0) { $0 + ($1.diskBytes ?? 0) })
                    }
                }
                $0.diskBytes = UInt64(diskBytes)
                $0.commitGroups = UInt64(statistics.commitGroups)
                $0.committedOps = UInt64(statistics.committedOps)
                $0.walSyncs = UInt64(statistics.walSyncs)
                $0.uptimeSeconds = UInt64((ContinuousClock.now - state.startedAt).components.seconds)
                $0.syncPolicy = state.syncPolicy.description
                $0.seals = UInt64(statistics.seals)
                $0.indexBuilds = UInt64(statistics.indexBuilds)
                $0.templateTrainings = UInt64(statistics.templateTrainings)
                $0.compactions = UInt64(statistics.compactions)
                $0.maintenanceFailures = UInt64(statistics.maintenanceFailures)
            }
        }
    }

    func listSegments(request: Quiver_V1_ListSegmentsRequest, context: ServerContext) async throws -> Quiver_V1_ListSegmentsResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            let info = try database.describeCollection(request.collection)
            return .with {
                $0.segments = info.segments.map(Quiver_V1_SegmentInfo.init)
                $0.pending = info.pending
            }
        }
    }

    func showSegment(request: Quiver_V1_ShowSegmentRequest, context: ServerContext) async throws -> Quiver_V1_ShowSegmentResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            let health = try await database.segmentHealth(
                request.collection, segment: SegmentID(request.segment), checkRecall: Int(request.checkRecall))
            return Quiver_V1_ShowSegmentResponse(health)
        }
    }

    func sealSegments(request: Quiver_V1_SegmentsRequest, context: ServerContext) async throws -> Quiver_V1_SegmentsResponse {
        try await segmentsCall(request, context) { () async throws(QuiverError) in try await database.seal(request.collection) }
    }

    func compactSegments(request: Quiver_V1_SegmentsRequest, context: ServerContext) async throws -> Quiver_V1_SegmentsResponse {
        try await segmentsCall(request, context) { () async throws(QuiverError) in try await database.compact(request.collection) }
    }

    func rebuildSegment(request: Quiver_V1_SegmentsRequest, context: ServerContext) async throws -> Quiver_V1_SegmentsResponse {
        try await segmentsCall(request, context) { () async throws(QuiverError) in
            try await database.rebuild(request.collection, segment: SegmentID(request.segment))
        }
    }

    /// Runs a segment operation, waits for the background work when asked, and replies with the
    /// collection's segments.
    private func segmentsCall(
        _ request: Quiver_V1_SegmentsRequest, _ context: ServerContext, _ operation: @escaping @Sendable () async throws(QuiverError) -> Void
    ) async throws -> Quiver_V1_SegmentsResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            try await operation()
            if request.wait { try await database.waitForBackgroundWork() }
            let info = try database.describeCollection(request.collection)
            return .with {
                $0.segments = info.segments.map(Quiver_V1_SegmentInfo.init)
                $0.pending = info.pending
            }
        }
    }

    func backup(request: Quiver_V1_BackupRequest, context: ServerContext) async throws -> Quiver_V1_BackupResponse {
        try await calls.handle(context) { () async throws(QuiverError) in
            let summary = try await database.backup(to: request.destination)
            return .with {
                $0.path = summary.path
                $0.collections = UInt32(summary.collections)
                $0.segmentFiles = UInt32(summary.segmentFiles)
                $0.bytes = UInt64(summary.bytes)
            }
        }
    }

    func version(request: Quiver_V1_VersionRequest, context: ServerContext) async throws -> Quiver_V1_VersionResponse {
        .with {
            $0.version = QuiverServer.version
            $0.protocol = "quiver.v1"
        }
    }
}

/// What the admin service reports about the server itself.
final class ServerState: Sendable {
    let startedAt = ContinuousClock.now
    let syncPolicy: SyncPolicy
    private let serving = Atomic<Bool>(true)

    init(syncPolicy: SyncPolicy) { self.syncPolicy = syncPolicy }

    var isServing: Bool { serving.load(ordering: .relaxed) }

    func stopServing() { serving.store(false, ordering: .relaxed) }
}
