import QuiverCore
import QuiverIndex
import QuiverStorage
import Synchronization

/// A collection in memory: its catalog record and its mutable data behind a lock.
///
/// Only the commit thread changes `data`; readers take a `CollectionView` (or look up ids) under
/// the lock and work on that without holding it.
final class CollectionState: Sendable {
    let stored: StoredCollection
    let data: Mutex<CollectionData>

    init(stored: StoredCollection, data: consuming CollectionData) {
        self.stored = stored
        self.data = Mutex(data)
    }

    var name: String { stored.schema.name }
    var schema: CollectionSchema { stored.schema }

    func view() -> CollectionView {
        data.withLock { CollectionView(stored: stored, blocks: $0.blocks, storage: $0.storage, rowCount: $0.rowCount) }
    }
}

/// A consistent, immutable view of a collection for one read: the rows published when it was
/// taken and the storage snapshot that holds exactly their fields.
struct CollectionView: Sendable {
    let stored: StoredCollection
    let blocks: [BlockState]
    let storage: StorageSnapshot
    let rowCount: Int
}

/// The mutable part of a collection, guarded by `CollectionState.data`.
struct CollectionData: Sendable {
    private(set) var blocks: [BlockState] = []
    /// The live row of each record id.
    private(set) var locations: [RecordID: RowLocation] = [:]
    /// The row id the next appended row gets.
    var nextRowID: RowID
    /// The storage snapshot taken right after the last commit that changed this collection.
    var storage: StorageSnapshot
    let dimension: Int

    init(dimension: Int, nextRowID: RowID, storage: StorageSnapshot) {
        self.dimension = dimension
        self.nextRowID = nextRowID
        self.storage = storage
    }

    var rowCount: Int { locations.count }

    var memoryBytes: Int {
        blocks.reduce(0) { $0 + $1.block.byteCount + $1.deleted.count * 8 }
            + locations.capacity * (MemoryLayout<RecordID>.stride + MemoryLayout<RowLocation>.stride + 1)
    }

    func location(of id: RecordID) -> RowLocation? { locations[id] }

    func rowID(at location: RowLocation) -> RowID { blocks[location.block].block.rowID(at: location.row) }

    /// Appends a row and publishes it (callers hold the lock).
    mutating func append(id: RecordID, rowID: RowID, vector: [Float]) -> RowLocation {
        let location = reserveRow()
        blocks[location.block].block.write(row: location.row, id: id, rowID: rowID, vector: vector)
        blocks[location.block].count += 1
        return location
    }

    /// Appends a row read from storage on open.
    mutating func appendLoaded(id: RecordID, rowID: RowID, vectorBytes: UnsafeRawBufferPointer) -> RowLocation {
        let location = reserveRow()
        blocks[location.block].block.write(row: location.row, id: id, rowID: rowID, vectorBytes: vectorBytes)
        blocks[location.block].count += 1
        return location
    }

    private mutating func reserveRow() -> RowLocation {
        if blocks.last?.isFull ?? true {
            let capacity = BlockState.capacity(blockIndex: blocks.count, dimension: dimension)
            blocks.append(BlockState(block: VectorBlock(dimension: dimension, capacity: capacity)))
        }
        return RowLocation(block: blocks.count - 1, row: blocks[blocks.count - 1].count)
    }

    mutating func markDeleted(_ location: RowLocation) {
        blocks[location.block].markDeleted(location.row)
    }

    mutating func setLocation(_ location: RowLocation?, for id: RecordID) {
        if let location { locations[id] = location } else { locations.removeValue(forKey: id) }
    }

    mutating func reserveLocations(_ count: Int) { locations.reserveCapacity(count) }
}
