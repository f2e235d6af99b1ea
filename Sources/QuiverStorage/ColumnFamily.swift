import CRocksDB

/// The RocksDB column families of a Quiver database. The key layout of each is specified in
/// docs/architecture.md ("Storage layout"); `KeyLayout` implements it.
public enum ColumnFamily: String, CaseIterable, Sendable {
    /// RocksDB requires it; Quiver keeps nothing in it.
    case `default`
    /// Catalog and counters: collection records, next row id per collection, format version.
    case meta
    /// One entry per live row: record id and the raw float32 vector. Not compressed: float
    /// mantissas are close to random bytes and LZ4 gained nothing on them.
    case vectors
    /// One entry per live row of a collection with scalar fields: the encoded field values.
    case attrs

    var compression: Int32 {
        switch self {
        case .vectors: Int32(rocksdb_no_compression)
        case .default, .meta, .attrs: Int32(rocksdb_lz4_compression)
        }
    }

    /// The position in `allCases`.
    var ordinal: Int { Self.allCases.firstIndex(of: self)! }

    /// One entry per row (the families a bulk load fills).
    var holdsRows: Bool { self == .vectors || self == .attrs }

    var blockSize: Int {
        switch self {
        // Bigger blocks make the full scan on open cheaper; vectors are never read by point lookup.
        case .vectors: 64 * 1024
        case .default, .meta, .attrs: 4 * 1024
        }
    }
}
