import Foundation
import QuiverCore
import QuiverIndex
import QuiverStorage

/// Backup and restore (docs/operations.md, "Backup and restore").
///
/// A backup is a data directory: RocksDB's checkpoint (every column family at one instant,
/// memtables flushed) in `rocksdb/`, and in `segments/` a copy of every index file the
/// checkpoint's manifests name, each verified against its manifest checksum as it is copied.
/// Index-file deletions (compaction, drops) are held back while the backup runs, so every file
/// the checkpoint names still exists when it is copied; files written after the checkpoint are
/// not named by it and are not copied. Writes and searches go on throughout.
///
/// A backup in progress is marked by `backupInProgressMarker` in its directory, written before
/// anything else and removed after the final marker: a backup that fails is removed again, and
/// one cut short by a crash (the marker, no final marker) is removed by the next backup to the
/// same destination, which then starts over. Restore takes only a directory with the final marker.
///
/// Restore copies a backup into an empty directory and verifies it before it can be served:
/// every index file against its manifest checksum, and every stored row by a full scan (RocksDB
/// checks its block checksums as it reads).
extension Database {
    /// Name of the file that marks a directory as a Quiver backup.
    public static let backupMarker = "quiver-backup.json"
    /// Name of the file that marks a directory as a backup not finished yet.
    public static let backupInProgressMarker = "quiver-backup.in-progress"

    /// Writes a consistent backup of the whole database to `destination`, which must not exist, be
    /// an empty directory, or hold a backup that did not finish (it is replaced), on this machine.
    /// A backup that fails leaves no directory behind.
    public func backup(to destination: String) async throws(QuiverError) -> BackupSummary {
        try await operation { () async throws(QuiverError) -> BackupSummary in
            let target = URL(fileURLWithPath: destination).standardizedFileURL.path
            let unfinished = Self.isUnfinishedBackup(target)
            if !unfinished { try Self.requireEmpty(target, field: "destination") }
            let store = self.store
            let logger = self.logger
            files.holdDeletions()
            defer { files.releaseDeletions() }
            return try await maintenance.run { () throws(QuiverError) -> BackupSummary in
                if unfinished {
                    logger.notice("removing an unfinished backup before starting over", metadata: ["path": "\(target)"])
                    do { try FileManager.default.removeItem(atPath: target) } catch {
                        throw .io("remove the unfinished backup \(target): \(error.localizedDescription)")
                    }
                }
                do {
                    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                    try Data().write(to: URL(fileURLWithPath: target + "/" + Self.backupInProgressMarker))
                } catch {
                    throw .io("create \(target): \(error.localizedDescription)")
                }
                do throws(QuiverError) {
                    return try Self.writeBackup(of: store, to: target)
                } catch {
                    try? FileManager.default.removeItem(atPath: target)
                    throw error
                }
            }
        }
    }

    /// Whether `path` holds a backup that started and never finished (crashed, killed).
    static func isUnfinishedBackup(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/" + backupInProgressMarker)
            && !FileManager.default.fileExists(atPath: path + "/" + backupMarker)
    }

    /// The backup's contents, into `target`, which holds only the in-progress marker; removes the
    /// marker last.
    private static func writeBackup(of store: Store, to target: String) throws(QuiverError) -> BackupSummary {
        try store.checkpoint(to: target + "/rocksdb")
        // The checkpoint's own manifests say which index files belong to it.
        var files = 0
        let collections = try Self.forEachCollection(inStoreAt: target) { (copy, collection, records) throws(QuiverError) in
            let from = store.directory.segmentsPath(of: collection.id)
            let to = copy.directory.segmentsPath(of: collection.id)
            for record in records {
                try Self.copyVerified(
                    from: from + "/" + record.file, to: to + "/" + record.file, record: record,
                    dimension: collection.schema.dimension)
                files += 1
            }
        }
        try? FileManager.default.removeItem(atPath: target + "/quiver.lock")
        let summary = BackupSummary(path: target, collections: collections, rows: nil, segmentFiles: files, bytes: Self.bytes(under: target))
        try Self.writeMarker(summary, in: target)
        try? FileManager.default.removeItem(atPath: target + "/" + backupInProgressMarker)
        return summary
    }

    /// Makes a servable database in `directory` (which must not exist or be empty) from the
    /// backup at `source`, verifying it: every index file against its manifest checksum, every
    /// row by a full scan. Nothing may have the directory open. On failure the directory is
    /// removed again.
    public static func restore(from source: String, to directory: String) throws(QuiverError) -> BackupSummary {
        let source = URL(fileURLWithPath: source).standardizedFileURL.path
        let target = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: source + "/" + backupMarker) else {
            throw .invalid(.invalidPath, "\(source) is not a Quiver backup (no \(backupMarker))", field: "source", value: source)
        }
        try requireEmpty(target, field: "data-dir")
        do throws(QuiverError) {
            try copyTree(from: source, to: target)
            try? FileManager.default.removeItem(atPath: target + "/" + backupMarker)
            var rows = 0
            var files = 0
            let collections = try forEachCollection(inStoreAt: target) { (store, collection, records) throws(QuiverError) in
                let segments = store.directory.segmentsPath(of: collection.id)
                for record in records {
                    try verify(segments + "/" + record.file, record: record, dimension: collection.schema.dimension)
                    files += 1
                }
                try store.scanRows(of: collection) { (_, _, _) throws(QuiverError) in rows += 1 }
                try store.scanFields(of: collection) { (_, _) throws(QuiverError) in }
            }
            return BackupSummary(path: target, collections: collections, rows: rows, segmentFiles: files, bytes: bytes(under: target))
        } catch {
            try? FileManager.default.removeItem(atPath: target)
            throw error
        }
    }

    /// Opens the database files at `path` (nothing else may have them open), calls `body` with
    /// every collection of the catalog and the segment records of its manifest, and closes them
    /// again whatever happens. Returns the number of collections.
    private static func forEachCollection(
        inStoreAt path: String, _ body: (Store, StoredCollection, [SegmentRecord]) throws(QuiverError) -> Void
    ) throws(QuiverError) -> Int {
        let store = try Store.open(path: path, backgroundJobs: 1)
        do throws(QuiverError) {
            let catalog = try store.loadCatalog()
            for collection in catalog.collections {
                try body(store, collection, try store.loadSegmentManifest(of: collection.id).segments)
            }
            if let error = store.close() { throw error }
            return catalog.collections.count
        } catch {
            store.close()
            throw error
        }
    }

    private static func requireEmpty(_ path: String, field: String) throws(QuiverError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        guard isDirectory.boolValue, contents.isEmpty else {
            throw .invalid(.invalidPath, "\(path) exists and is not an empty directory", field: field, value: path)
        }
    }

    private static func verify(_ path: String, record: SegmentRecord, dimension: Int) throws(QuiverError) {
        let (_, checksum) = try SegmentFile.read(from: path, dimension: dimension)
        guard checksum == record.checksum else {
            throw .corruption("\(path): checksum \(checksum) is not the manifest's \(record.checksum)")
        }
    }

    private static func copyVerified(from: String, to: String, record: SegmentRecord, dimension: Int) throws(QuiverError) {
        do {
            try FileManager.default.createDirectory(
                atPath: (to as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: from, toPath: to)
        } catch {
            throw .io("copy \(from) to \(to): \(error.localizedDescription)")
        }
        try verify(to, record: record, dimension: dimension)
    }

    private static func copyTree(from source: String, to target: String) throws(QuiverError) {
        do {
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if FileManager.default.fileExists(atPath: target) { try FileManager.default.removeItem(atPath: target) }
            try FileManager.default.copyItem(atPath: source, toPath: target)
        } catch {
            throw .io("copy \(source) to \(target): \(error.localizedDescription)")
        }
    }

    private static func writeMarker(_ summary: BackupSummary, in directory: String) throws(QuiverError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(summary).write(to: URL(fileURLWithPath: directory + "/" + backupMarker))
        } catch {
            throw .io("write \(backupMarker): \(error.localizedDescription)")
        }
    }

    static func bytes(under path: String) -> Int {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0
        while let item = enumerator.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + item)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? NSNumber)?.intValue ?? 0 }
        }
        return total
    }
}
