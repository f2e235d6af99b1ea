#if canImport(Glibc)
import Glibc
#endif
import CRocksDB
import Foundation
import CRocksDBShim
import QuiverCore
import Synchronization

/// The RocksDB database handle with its column families. The only owner of RocksDB's C handles;
/// everything above it goes through `Store`.
///
/// Every write goes through the WAL (`disableWAL` is never set); `sync` decides whether the WAL is
/// fsynced before `write` returns. Recovery uses RocksDB's default point-in-time mode: on open the
/// WAL is replayed up to the last intact record, so a torn tail after a crash drops only writes
/// that were never acknowledged under `SyncPolicy.always`/`.batch`.
///
/// A full disk: a write or flush that fails for lack of space leaves RocksDB with a background
/// error under which it refuses every write until `DB::Resume()` clears it — even after space is
/// freed, which is why a full disk used to need a restart. From the first such failure until a
/// `Resume` succeeds, `write` refuses at once with `resourceExhausted`/`diskFull`, and tries
/// `Resume` first whenever the last try is `resumeInterval` old, so writes come back by themselves
/// within about a second of space returning. Reads go on throughout.
///
/// Proof for `@unchecked Sendable`: a RocksDB `DB` is safe for concurrent reads and writes from any
/// thread, the option and column-family handles are immutable after `open`, and `close` runs once
/// (guarded by `isClosed`) after the owner has drained all users — calling anything afterwards is a
/// programmer error caught by a precondition.
final class RocksDB: @unchecked Sendable {
    private let db: OpaquePointer
    /// Handles in `ColumnFamily.allCases` order (`ColumnFamily.ordinal`): looked up for every put.
    private let families: [OpaquePointer]
    private let syncWriteOptions: OpaquePointer
    private let asyncWriteOptions: OpaquePointer
    private let isClosed = Atomic<Bool>(false)
    private let liveSnapshots = Atomic<Int>(0)
    /// Since when writes fail for lack of space, and when `Resume` was last tried.
    private let diskFull = Mutex<(since: ContinuousClock.Instant, lastResume: ContinuousClock.Instant)?>(nil)
    let path: String

    /// How often, while the disk is full, a write may try `Resume` first.
    static let resumeInterval: Duration = .seconds(1)

    private init(db: OpaquePointer, families: [OpaquePointer], path: String) {
        self.db = db
        self.families = families
        self.path = path
        syncWriteOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(syncWriteOptions, 1)
        asyncWriteOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(asyncWriteOptions, 0)
    }

    deinit {
        close()
        rocksdb_writeoptions_destroy(syncWriteOptions)
        rocksdb_writeoptions_destroy(asyncWriteOptions)
    }

    /// Opens (creating if missing) the database at `path` with every `ColumnFamily`.
    ///
    /// With `bulkLoad` the row families (vectors, fields) keep their memtables as RocksDB's
    /// vector memtable: an insert is an append and the rows are sorted once when the memtable is
    /// flushed, where the default skip list compares keys on every insert (a fifth of the commit
    /// thread in a 1,000,000-row import). The price is paid by reads: a lookup in a memtable
    /// that is still being written sorts a copy of it first, so this is for write-only loads.
    static func open(path: String, backgroundJobs: Int, bulkLoad: Bool) throws(QuiverError) -> RocksDB {
        let base = rocksdb_options_create()!
        defer { rocksdb_options_destroy(base) }
        rocksdb_options_set_create_if_missing(base, 1)
        rocksdb_options_set_create_missing_column_families(base, 1)
        rocksdb_options_increase_parallelism(base, Int32(backgroundJobs))
        rocksdb_options_set_max_background_jobs(base, Int32(backgroundJobs))
        rocksdb_options_set_bytes_per_sync(base, 1 << 20)
        rocksdb_options_set_keep_log_file_num(base, 5)
        // The vector memtable takes one writer at a time; Quiver has one (the commit thread).
        if bulkLoad { rocksdb_options_set_allow_concurrent_memtable_write(base, 0) }
        // Replay the WAL into the memtables without writing them out at once: a database whose
        // disk filled up then still opens (and serves) instead of failing to write SST files. The
        // WAL stays until the memtables are flushed as usual.
        quiver_rocksdb_options_set_avoid_flush_during_recovery(base, 1)
        // RocksDB's LOG, written without RocksDB's file writer: with Debian's assertion-enabled
        // build a failed LOG append on a full disk aborted the process at the next line.
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        quiver_rocksdb_options_set_info_log_file(base, path + "/LOG")

        var familyOptions: [OpaquePointer] = []
        var tableOptions: [OpaquePointer] = []
        defer {
            familyOptions.forEach { rocksdb_options_destroy($0) }
            tableOptions.forEach { rocksdb_block_based_options_destroy($0) }
        }
        for family in ColumnFamily.allCases {
            let options = rocksdb_options_create_copy(base)!
            rocksdb_options_set_compression(options, family.compression)
            if bulkLoad && family.holdsRows { rocksdb_options_set_memtable_vector_rep(options) }
            let table = rocksdb_block_based_options_create()!
            rocksdb_block_based_options_set_block_size(table, family.blockSize)
            rocksdb_options_set_block_based_table_factory(options, table)
            familyOptions.append(options)
            tableOptions.append(table)
        }

        let names = ColumnFamily.allCases.map { strdup($0.rawValue) }
        defer { names.forEach { free($0) } }
        var handles = [OpaquePointer?](repeating: nil, count: names.count)
        var error: UnsafeMutablePointer<CChar>?
        let db = names.withUnsafeBufferPointer { names in
            names.withMemoryRebound(to: UnsafePointer<CChar>?.self) { names in
                familyOptions.map { Optional($0) }.withUnsafeBufferPointer { options in
                    rocksdb_open_column_families(
                        base, path, Int32(names.count), names.baseAddress, options.baseAddress,
                        &handles, &error)
                }
            }
        }
        try check(error, "open RocksDB at \(path)")
        guard let db else { throw .io("open RocksDB at \(path): no handle returned") }
        return RocksDB(db: db, families: handles.map { $0! }, path: path)
    }

    /// Flushes nothing and closes; idempotent. Every snapshot must have been released.
    func close() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        precondition(liveSnapshots.load(ordering: .acquiring) == 0, "RocksDB closed with live snapshots")
        for handle in families { rocksdb_column_family_handle_destroy(handle) }
        rocksdb_close(db)
    }

    private func assertOpen() {
        precondition(!isClosed.load(ordering: .relaxed), "RocksDB used after close")
    }

    func family(_ family: ColumnFamily) -> OpaquePointer { families[family.ordinal] }

    // MARK: Writes

    /// Writes the batch atomically through the WAL; with `sync` the WAL is fsynced first.
    ///
    /// - Throws: `resourceExhausted`/`diskFull` while the disk is full (nothing is written);
    ///   `io`, `corruption` otherwise.
    func write(_ batch: RocksWriteBatch, sync: Bool) throws(QuiverError) {
        assertOpen()
        try resumeIfDiskFull()
        let status = shimCall { quiver_rocksdb_write(db, sync ? syncWriteOptions : asyncWriteOptions, batch.handle, $0, $1) }
        try check(status, "write batch")
    }

    /// Flushes every memtable to SST files, so the next open replays no WAL.
    ///
    /// - Throws: `resourceExhausted`/`diskFull` when there is no room for the files.
    func flush() throws(QuiverError) {
        assertOpen()
        try resumeIfDiskFull()
        for family in ColumnFamily.allCases {
            let status = shimCall { quiver_rocksdb_flush_cf(db, self.family(family), $0, $1) }
            try check(status, "flush \(family.rawValue)")
        }
    }

    /// Whether writes are refused for lack of space right now.
    var isDiskFull: Bool { diskFull.withLock { $0 != nil } }

    /// While the disk is full: tries `Resume` when the last try is old enough, and refuses the
    /// caller's write unless it succeeded.
    private func resumeIfDiskFull() throws(QuiverError) {
        let due = diskFull.withLock { state -> Bool? in
            guard var current = state else { return nil }
            guard ContinuousClock.now - current.lastResume >= Self.resumeInterval else { return false }
            current.lastResume = .now
            state = current
            return true
        }
        guard let due else { return }
        if due {
            let (status, message) = shimCall { quiver_rocksdb_resume(db, $0, $1) }
            if status == Int32(QUIVER_ROCKS_OK) {
                diskFull.withLock { $0 = nil }
                return
            }
            throw Self.diskFullError(path, detail: message)
        }
        throw Self.diskFullError(path, detail: nil)
    }

    static func diskFullError(_ path: String, detail: String?) -> QuiverError {
        QuiverError(
            .resourceExhausted, .diskFull,
            "the disk of \(path) is full: writes are refused until space is freed, and resume by themselves then (reads go on)"
                + (detail.map { "; RocksDB: \($0)" } ?? ""),
            field: "data-dir", value: path)
    }

    /// Runs a shim call with a message buffer; returns its status and message.
    private func shimCall(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) -> (Int32, String) {
        var buffer = [CChar](repeating: 0, count: 1024)
        let status = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        guard status != Int32(QUIVER_ROCKS_OK) else { return (status, "") }
        return (status, String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Turns a shim status into an error; a full disk also starts refusing writes.
    private func check(_ result: (status: Int32, message: String), _ what: String) throws(QuiverError) {
        switch result.status {
        case Int32(QUIVER_ROCKS_OK): return
        case Int32(QUIVER_ROCKS_NO_SPACE):
            diskFull.withLock { state in
                if state == nil { state = (since: .now, lastResume: .now) }
            }
            throw Self.diskFullError(path, detail: "\(what): \(result.message)")
        case Int32(QUIVER_ROCKS_CORRUPTION): throw .corruption("\(what): \(result.message)")
        default: throw .io("\(what): \(result.message)")
        }
    }

    /// Writes a consistent copy of the whole database (every column family, memtables flushed
    /// first) to `path`, which must not exist: RocksDB's checkpoint, hard links for SST files on
    /// the same file system and copies otherwise.
    func checkpoint(to path: String) throws(QuiverError) {
        assertOpen()
        var error: UnsafeMutablePointer<CChar>?
        guard let checkpoint = rocksdb_checkpoint_object_create(db, &error) else {
            try RocksDB.check(error, "create checkpoint object")
            throw .io("create checkpoint object: no handle returned")
        }
        defer { rocksdb_checkpoint_object_destroy(checkpoint) }
        rocksdb_checkpoint_create(checkpoint, path, 0, &error)
        try RocksDB.check(error, "checkpoint to \(path)")
    }

    /// Compacts `[start, end)` of a family, reclaiming the space of deleted keys. Blocks.
    func compactRange(_ family: ColumnFamily, start: [UInt8], end: [UInt8]) {
        assertOpen()
        start.withUnsafeBufferPointer { s in
            end.withUnsafeBufferPointer { e in
                s.withMemoryRebound(to: CChar.self) { s in
                    e.withMemoryRebound(to: CChar.self) { e in
                        rocksdb_compact_range_cf(db, self.family(family), s.baseAddress, s.count, e.baseAddress, e.count)
                    }
                }
            }
        }
    }

    // MARK: Reads

    func createSnapshotHandle() -> OpaquePointer {
        assertOpen()
        liveSnapshots.add(1, ordering: .relaxed)
        return rocksdb_create_snapshot(db)
    }

    func releaseSnapshotHandle(_ handle: OpaquePointer) {
        rocksdb_release_snapshot(db, handle)
        liveSnapshots.subtract(1, ordering: .releasing)
    }

    private func withReadOptions<R>(
        snapshot: StorageSnapshot?, fillCache: Bool = true, _ body: (OpaquePointer) throws(QuiverError) -> R
    ) throws(QuiverError) -> R {
        let options = rocksdb_readoptions_create()!
        defer { rocksdb_readoptions_destroy(options) }
        if let snapshot { rocksdb_readoptions_set_snapshot(options, snapshot.handle) }
        if !fillCache { rocksdb_readoptions_set_fill_cache(options, 0) }
        return try body(options)
    }

    /// Reads one key; `nil` when absent.
    func get(_ family: ColumnFamily, key: [UInt8], snapshot: StorageSnapshot? = nil) throws(QuiverError) -> [UInt8]? {
        try multiGet(family, keys: [key], snapshot: snapshot)[0]
    }

    /// Reads many keys of one family in one call; `nil` for absent keys.
    func multiGet(_ family: ColumnFamily, keys: [[UInt8]], snapshot: StorageSnapshot? = nil) throws(QuiverError) -> [[UInt8]?] {
        assertOpen()
        guard !keys.isEmpty else { return [] }
        return try withReadOptions(snapshot: snapshot) { (options) throws(QuiverError) -> [[UInt8]?] in
            let count = keys.count
            let handle = self.family(family)
            var values = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            var sizes = [Int](repeating: 0, count: count)
            var errors = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            let keyPointers = keys.map { key -> UnsafeMutablePointer<CChar> in
                let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(key.count, 1))
                key.withUnsafeBufferPointer { src in
                    src.withMemoryRebound(to: CChar.self) { src in p.update(from: src.baseAddress!, count: key.count) }
                }
                return p
            }
            defer { keyPointers.forEach { $0.deallocate() } }
            let keySizes = keys.map(\.count)
            let familyHandles = [OpaquePointer?](repeating: handle, count: count)
            keyPointers.map { Optional(UnsafePointer($0)) }.withUnsafeBufferPointer { keyList in
                rocksdb_multi_get_cf(
                    db, options, familyHandles, count, keyList.baseAddress, keySizes, &values, &sizes, &errors)
            }
            defer { values.forEach { if let v = $0 { rocksdb_free(v) } } }
            var firstError: QuiverError?
            for error in errors where error != nil {
                if firstError == nil { firstError = .io("read \(family.rawValue): \(String(cString: error!))") }
                rocksdb_free(error)
            }
            if let firstError { throw firstError }
            return (0..<count).map { i in
                guard let value = values[i] else { return nil }
                return value.withMemoryRebound(to: UInt8.self, capacity: sizes[i]) {
                    Array(UnsafeBufferPointer(start: $0, count: sizes[i]))
                }
            }
        }
    }

    /// Visits every key in `[start, end)` in order. The buffers are valid only during the call.
    /// `fillCache: false` keeps a full scan from evicting the block cache.
    func scan(
        _ family: ColumnFamily, start: [UInt8], end: [UInt8], snapshot: StorageSnapshot? = nil,
        fillCache: Bool = true,
        _ visit: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(QuiverError) -> Void
    ) throws(QuiverError) {
        assertOpen()
        try withReadOptions(snapshot: snapshot, fillCache: fillCache) { (options) throws(QuiverError) in
            rocksdb_readoptions_set_readahead_size(options, 4 << 20)
            // The upper bound must stay valid while the iterator lives: copy it to owned memory.
            let bound = UnsafeMutablePointer<CChar>.allocate(capacity: max(end.count, 1))
            defer { bound.deallocate() }
            end.withUnsafeBufferPointer { src in
                src.withMemoryRebound(to: CChar.self) { bound.update(from: $0.baseAddress!, count: end.count) }
            }
            rocksdb_readoptions_set_iterate_upper_bound(options, bound, end.count)
            let iterator = rocksdb_create_iterator_cf(db, options, self.family(family))!
            defer { rocksdb_iter_destroy(iterator) }
            start.withUnsafeBufferPointer { s in
                s.withMemoryRebound(to: CChar.self) { rocksdb_iter_seek(iterator, $0.baseAddress, $0.count) }
            }
            while rocksdb_iter_valid(iterator) != 0 {
                var keyLength = 0
                var valueLength = 0
                let key = rocksdb_iter_key(iterator, &keyLength)
                let value = rocksdb_iter_value(iterator, &valueLength)
                try visit(
                    UnsafeRawBufferPointer(start: key, count: keyLength),
                    UnsafeRawBufferPointer(start: value, count: valueLength))
                rocksdb_iter_next(iterator)
            }
            var error: UnsafeMutablePointer<CChar>?
            rocksdb_iter_get_error(iterator, &error)
            try RocksDB.check(error, "scan \(family.rawValue)")
        }
    }

    /// A RocksDB property of one family (for example `rocksdb.estimate-num-keys`).
    func property(_ family: ColumnFamily, _ name: String) -> String? {
        assertOpen()
        guard let value = rocksdb_property_value_cf(db, self.family(family), name) else { return nil }
        defer { rocksdb_free(value) }
        return String(cString: value)
    }

    private static func check(_ error: UnsafeMutablePointer<CChar>?, _ what: String) throws(QuiverError) {
        guard let error else { return }
        let message = String(cString: error)
        rocksdb_free(error)
        if message.hasPrefix("Corruption") { throw .corruption("\(what): \(message)") }
        throw .io("\(what): \(message)")
    }
}
