import QuiverCore

/// The RocksDB key layout, specified in docs/architecture.md ("Storage layout"). Integers in keys
/// are big-endian so that iteration follows collection and row order.
enum KeyLayout {
    /// Bumped when the on-disk layout changes incompatibly; a database with a newer version is
    /// refused rather than misread.
    static let formatVersion: UInt32 = 1

    // meta family: a one-byte tag, then the tag's fields.
    static let formatKey: [UInt8] = [0x00]
    static let nextCollectionIDKey: [UInt8] = [0x03]
    private static let collectionTag: UInt8 = 0x01
    private static let nextRowIDTag: UInt8 = 0x02
    private static let segmentTag: UInt8 = 0x05
    private static let templateTag: UInt8 = 0x06
    private static let nextSegmentIDTag: UInt8 = 0x07

    /// meta: 0x01 | collection id (u32 BE) → collection record (JSON).
    static func collection(_ id: CollectionID) -> [UInt8] { tagged(collectionTag, id) }
    static let collectionsStart: [UInt8] = [collectionTag]
    static let collectionsEnd: [UInt8] = [collectionTag + 1]

    /// meta: 0x02 | collection id (u32 BE) → the collection's next row id (u64 LE).
    static func nextRowID(_ id: CollectionID) -> [UInt8] { tagged(nextRowIDTag, id) }

    /// meta: 0x05 | collection id (u32 BE) | segment id (u32 BE) → segment record (JSON).
    static func segment(_ collection: CollectionID, _ segment: SegmentID) -> [UInt8] {
        var w = BinaryWriter(capacity: 9)
        w.u8(segmentTag)
        w.u32BE(collection.rawValue)
        w.u32BE(segment.rawValue)
        return w.bytes
    }

    /// The key range of every segment record of a collection.
    static func segments(of collection: CollectionID) -> (start: [UInt8], end: [UInt8]) {
        let start = tagged(segmentTag, collection)
        var end = start
        end.append(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        return (start, end)
    }

    /// meta: 0x06 | collection id (u32 BE) → the collection's current template record (JSON).
    static func template(_ collection: CollectionID) -> [UInt8] { tagged(templateTag, collection) }

    /// meta: 0x07 | collection id (u32 BE) → the collection's next segment id (u32 LE).
    static func nextSegmentID(_ collection: CollectionID) -> [UInt8] { tagged(nextSegmentIDTag, collection) }

    /// vectors / attrs: collection id (u32 BE) | row id (u64 BE).
    static func row(_ collection: CollectionID, _ row: RowID) -> [UInt8] {
        var w = BinaryWriter(capacity: 12)
        w.u32BE(collection.rawValue)
        w.u64BE(row.rawValue)
        return w.bytes
    }

    /// The key range `[start, end)` holding every row of a collection.
    static func rows(of collection: CollectionID) -> (start: [UInt8], end: [UInt8]) {
        var start = BinaryWriter(capacity: 4)
        start.u32BE(collection.rawValue)
        var end = BinaryWriter(capacity: 8)
        if collection.rawValue == .max {
            end.u32BE(.max)
            end.u64BE(.max)  // row ids never reach UInt64.max
        } else {
            end.u32BE(collection.rawValue + 1)
        }
        return (start.bytes, end.bytes)
    }

    /// Decodes a row key of the vectors or attrs family.
    static func decodeRow(_ key: UnsafeRawBufferPointer) throws(QuiverError) -> (CollectionID, RowID) {
        var r = BinaryReader(key, what: "row key")
        let collection = CollectionID(try r.u32BE())
        let row = RowID(try r.u64BE())
        guard r.isAtEnd else { throw .corruption("row key has \(key.count) bytes, expected 12") }
        return (collection, row)
    }

    private static func tagged(_ tag: UInt8, _ id: CollectionID) -> [UInt8] {
        var w = BinaryWriter(capacity: 5)
        w.u8(tag)
        w.u32BE(id.rawValue)
        return w.bytes
    }
}
