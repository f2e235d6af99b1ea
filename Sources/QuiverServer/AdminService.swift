import GRPCCore
import QuiverCore
import QuiverEngine
import QuiverProto
import Synchronization

struct AdminService: Quiver_V1_AdminService.SimpleServiceProtocol {
    let database: Database
    let state: ServerState
    let calls: CallHandler

    func health(request: Quiver_V1_HealthRequest, context: ServerContext) async throws -> Quiver_V1_HealthResponse {
        .with { $0.status = state.isServing ? .serving : .notServing }
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
