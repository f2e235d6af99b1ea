import CRocksDB

/// A consistent read view of the database, as of the moment it was taken. Reads through it see no
/// later write. Released when the last reference goes away.
///
/// Proof for `@unchecked Sendable`: the snapshot handle is immutable after creation and RocksDB
/// snapshots may be read from any thread; the strong reference to `RocksDB` keeps the database
/// open until the snapshot is released in `deinit`.
public final class StorageSnapshot: @unchecked Sendable {
    let database: RocksDB
    let handle: OpaquePointer

    init(database: RocksDB) {
        self.database = database
        handle = database.createSnapshotHandle()
    }

    deinit { database.releaseSnapshotHandle(handle) }
}
