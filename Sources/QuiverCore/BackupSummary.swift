/// What a backup or a restore contains.
public struct BackupSummary: Sendable, Hashable, Codable {
    /// Where the backup is (a directory on the machine that made it).
    public var path: String
    public var collections: Int
    /// Live rows over all collections (counted by a full scan on restore, which also verifies
    /// RocksDB's block checksums).
    public var rows: Int?
    /// Index files copied (backup) or verified against their manifest checksums (restore).
    public var segmentFiles: Int
    /// Bytes of the backup directory.
    public var bytes: Int

    public init(path: String, collections: Int, rows: Int?, segmentFiles: Int, bytes: Int) {
        self.path = path
        self.collections = collections
        self.rows = rows
        self.segmentFiles = segmentFiles
        self.bytes = bytes
    }
}
