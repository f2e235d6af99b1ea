import QuiverProto

/// What `QuiverClient.stats()` reports.
public struct ServerStats: Sendable, Hashable {
    public struct Collection: Sendable, Hashable {
        public var name: String
        public var rows: Int
        public var memoryBytes: Int
        /// Segments by phase name (growing, sealed, indexing, indexed, dropped).
        public var segments: [String: Int]
        /// Bytes of the collection's index files.
        public var diskBytes: Int
    }

    public var collections: [Collection]
    public var diskBytes: Int
    public var commitGroups: Int
    public var committedOps: Int
    public var walSyncs: Int
    public var uptimeSeconds: Int
    public var syncPolicy: String
    public var seals: Int
    public var indexBuilds: Int
    public var templateTrainings: Int
    public var compactions: Int
    public var maintenanceFailures: Int

    init(_ response: Quiver_V1_StatsResponse) {
        collections = response.collections.map {
            Collection(
                name: $0.name, rows: Int($0.rows), memoryBytes: Int($0.memoryBytes), segments: $0.segments.mapValues(Int.init),
                diskBytes: Int($0.diskBytes))
        }
        diskBytes = Int(response.diskBytes)
        commitGroups = Int(response.commitGroups)
        committedOps = Int(response.committedOps)
        walSyncs = Int(response.walSyncs)
        uptimeSeconds = Int(response.uptimeSeconds)
        syncPolicy = response.syncPolicy
        seals = Int(response.seals)
        indexBuilds = Int(response.indexBuilds)
        templateTrainings = Int(response.templateTrainings)
        compactions = Int(response.compactions)
        maintenanceFailures = Int(response.maintenanceFailures)
    }
}
