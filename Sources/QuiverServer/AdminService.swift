import QuiverCore
import QuiverEngine
import QuiverProto
import Synchronization

struct AdminService: Sendable {
    let database: Database
    let state: ServerState
    let calls: CallHandler
    /// `QuiverServer.reloadCredentials`.
    let reloadCredentials: @Sendable () throws(QuiverError) -> CredentialsReload

    /// Answered on the event loop without the call handler (no task, no access-log line) so that
    /// a load balancer's frequent checks stay cheap; the transport still counts the call.
    func health(_ request: Quiver_V1_HealthRequest) -> Quiver_V1_HealthResponse {
        .with { $0.status = state.isServing ? .serving : .notServing }
    }

    func stats(_ request: Quiver_V1_StatsRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_StatsResponse {
        try await calls.handle(call) { () async throws(QuiverError) in
            // A scoped key sees its own collections; the database-wide counters name none.
            let collections = try database.listCollections().filter { call.inScope($0.name) }
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

    func listSegments(_ request: Quiver_V1_ListSegmentsRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_ListSegmentsResponse {
        try await calls.handle(call, collection: request.collection) { () async throws(QuiverError) in
            try call.admit(request.collection)
            let info = try database.describeCollection(request.collection)
            return .with {
                $0.segments = info.segments.map(Quiver_V1_SegmentInfo.init)
                $0.pending = info.pending
            }
        }
    }

    func showSegment(_ request: Quiver_V1_ShowSegmentRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_ShowSegmentResponse {
        try await calls.handle(call, collection: request.collection) { () async throws(QuiverError) in
            try call.admit(request.collection)
            let health = try await database.segmentHealth(
                request.collection, segment: SegmentID(request.segment), checkRecall: Int(request.checkRecall))
            return Quiver_V1_ShowSegmentResponse(health)
        }
    }

    func sealSegments(_ request: Quiver_V1_SegmentsRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_SegmentsResponse {
        try await segmentsCall(request, call) { () async throws(QuiverError) in try await database.seal(request.collection) }
    }

    func compactSegments(_ request: Quiver_V1_SegmentsRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_SegmentsResponse {
        try await segmentsCall(request, call) { () async throws(QuiverError) in try await database.compact(request.collection) }
    }

    func rebuildSegment(_ request: Quiver_V1_SegmentsRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_SegmentsResponse {
        try await segmentsCall(request, call) { () async throws(QuiverError) in
            try await database.rebuild(request.collection, segment: SegmentID(request.segment))
        }
    }

    /// Runs a segment operation, waits for the background work when asked, and replies with the
    /// collection's segments.
    private func segmentsCall(
        _ request: Quiver_V1_SegmentsRequest, _ call: CallInfo, _ operation: () async throws(QuiverError) -> Void
    ) async throws(QuiverError) -> Quiver_V1_SegmentsResponse {
        try await calls.handle(call, collection: request.collection) { () async throws(QuiverError) in
            try call.admit(request.collection)
            try await operation()
            if request.wait { try await database.waitForBackgroundWork() }
            let info = try database.describeCollection(request.collection)
            return .with {
                $0.segments = info.segments.map(Quiver_V1_SegmentInfo.init)
                $0.pending = info.pending
            }
        }
    }

    func backup(_ request: Quiver_V1_BackupRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_BackupResponse {
        try await calls.handle(call) { () async throws(QuiverError) in
            try call.admitUnscoped("a backup")
            let summary = try await database.backup(to: request.destination)
            return .with {
                $0.path = summary.path
                $0.collections = UInt32(summary.collections)
                $0.segmentFiles = UInt32(summary.segmentFiles)
                $0.bytes = UInt64(summary.bytes)
            }
        }
    }

    func reload(_ request: Quiver_V1_ReloadCredentialsRequest, _ call: CallInfo) async throws(QuiverError) -> Quiver_V1_ReloadCredentialsResponse {
        try await calls.handle(call) { () async throws(QuiverError) in
            // The keys file holds every tenant's keys: a tenant's admin key may not swap them.
            try call.admitUnscoped("the keys file")
            let outcome = try reloadCredentials()
            return .with {
                $0.reloaded = outcome.summary
                $0.keys = UInt32(outcome.keys)
                $0.tls = outcome.tls
            }
        }
    }

    func version(_ request: Quiver_V1_VersionRequest) -> Quiver_V1_VersionResponse {
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
