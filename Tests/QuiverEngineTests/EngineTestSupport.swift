import Foundation
import Logging
import QuiverCore
@testable import QuiverEngine
import QuiverTesting
import Testing

func quietOptions(sync: SyncPolicy = .always) -> DatabaseOptions {
    var logger = Logger(label: "test")
    logger.logLevel = .error
    return DatabaseOptions(syncPolicy: sync, logger: logger)
}

/// Opens a database in `directory`, runs `body`, and closes it whatever happens.
func withDatabase<T>(
    _ directory: TemporaryDirectory, sync: SyncPolicy = .always, planner: PlannerSettings = PlannerSettings(),
    _ body: (Database) async throws -> T
) async throws -> T {
    var options = quietOptions(sync: sync)
    options.planner = planner
    let database = try await Database.open(path: directory.path, options: options)
    do {
        let result = try await body(database)
        try await database.close()
        return result
    } catch {
        try? await database.close()
        throw error
    }
}

extension Database {
    /// Entries the collection has in RocksDB's vectors and attrs families — what is really stored,
    /// independent of the in-memory state.
    func storedEntries(_ name: String) throws -> (vectors: Int, attrs: Int) {
        try store.countEntries(of: registry.require(name).stored.id)
    }

    func collectionID(_ name: String) throws -> CollectionID { try registry.require(name).stored.id }
}
