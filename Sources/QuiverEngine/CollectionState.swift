import Algorithms
import Foundation
import QuiverCore
import QuiverFilter
import QuiverIndex
import QuiverStorage
import Synchronization

/// A collection in memory: its catalog record and its mutable data behind a lock.
///
/// Only the commit thread changes `data` (the open path builds it before anyone can see it);
/// readers take a `CollectionView` (or look up ids) under the lock and work on that without
/// holding it.
final class CollectionState: Sendable {
    let stored: StoredCollection
    let data: Mutex<CollectionData>

    init(stored: StoredCollection, data: consuming CollectionData) {
        self.stored = stored
        self.data = Mutex(data)
    }

    var name: String { stored.schema.name }
    var schema: CollectionSchema { stored.schema }

    func view() -> CollectionView { data.withLock { $0.view(stored) } }
}

/// A trained template generation: the empty IVF index that new segments are cloned from, which
/// also computes the coarse assignment for every segment of the generation.
struct Template: Sendable {
    let record: TemplateRecord
    let index: IVFIndex
}

/// A consistent, immutable view of a collection for one read: the segments and rows published
/// when it was taken, and the storage snapshot that holds exactly their vectors and fields.
struct CollectionView: Sendable {
    let stored: StoredCollection
    let segments: [SegmentState]
    let templates: [UInt32: Template]
    let storage: StorageSnapshot
    let rowCount: Int
}

/// The mutable part of a collection, guarded by `CollectionState.data`.
struct CollectionData: Sendable {
    /// Ascending by id. At most one is growing.
    private(set) var segments: [SegmentState] = []
    /// The live row of each record id.
    private(set) var locations = RecordIDMap<RowLocation>()
    /// The row id the next appended row gets.
    var nextRowID: RowID
    /// The id the next segment gets (growing segments, compaction outputs).
    var nextSegmentID: SegmentID
    /// The storage snapshot taken right after the last commit that changed this collection.
    var storage: StorageSnapshot
    /// Templates by generation; the highest is current.
    private(set) var templates: [UInt32: Template] = [:]
    /// Segments that compaction replaced, while searches that started before still hold them.
    private var retired: [RetiredSegment] = []
    let schema: CollectionSchema
    /// Rows at which the growing segment is sealed.
    let segmentRows: Int

    init(schema: CollectionSchema, nextRowID: RowID, nextSegmentID: SegmentID, storage: StorageSnapshot) {
        self.schema = schema
        self.segmentRows = schema.index.effectiveSegmentRows(dimension: schema.dimension)
        self.nextRowID = nextRowID
        self.nextSegmentID = nextSegmentID
        self.storage = storage
    }

    func view(_ stored: StoredCollection) -> CollectionView {
        CollectionView(stored: stored, segments: segments, templates: templates, storage: storage, rowCount: rowCount)
    }

    var rowCount: Int { locations.count }

    var memoryBytes: Int {
        segments.reduce(0) { $0 + $1.memoryBytes }
            + locations.memoryBytes
    }

    var currentTemplate: Template? { templates.max { $0.key < $1.key }?.value }

    func segmentIndex(of id: SegmentID) -> Int? { segments.position(of: id) }

    func segment(_ id: SegmentID) -> SegmentState? { segmentIndex(of: id).map { segments[$0] } }

    func location(of id: RecordID) -> RowLocation? { locations[id] }

    func rowID(at location: RowLocation) -> RowID {
        segments[segmentIndex(of: location.segment)!].rowID(at: location.row)
    }

    // MARK: Writes (commit thread, or the open path before publication)

    /// Appends rows in order to the growing segment, opening a new one whenever it is full. The
    /// growing segment is found once per run of rows that fits in it, not once per row (the
    /// commit thread appends thousands of rows per group).
    ///
    /// - Returns: each row's location, and the segments the rows filled (for the builder).
    mutating func append(
        _ rows: [(record: ValidatedRecord, rowID: RowID)]
    ) -> (locations: [RowLocation], sealed: [SegmentID]) {
        var locations: [RowLocation] = []
        locations.reserveCapacity(rows.count)
        var sealed: [SegmentID] = []
        var next = 0
        while next < rows.count {
            let index = growingIndexForAppend()
            guard case .exact(let block, let columns) = segments[index].storage else { preconditionFailure("growing segment without a block") }
            let segment = segments[index].id
            let first = segments[index].count
            let end = min(rows.count, next + segments[index].capacity - first)
            for (offset, (record, rowID)) in rows[next..<end].enumerated() {
                block.write(row: first + offset, id: record.id, rowID: rowID, vector: record.vector)
                columns.append(record.values, row: first + offset)
                locations.append(RowLocation(segment: segment, row: first + offset))
            }
            segments[index].count = first + end - next
            if segments[index].firstRowAt == nil { segments[index].firstRowAt = .now }
            if segments[index].isFull {
                segments[index].phase = .sealed
                sealed.append(segment)
            }
            next = end
        }
        return (locations, sealed)
    }

    /// Appends a row read from storage on open; its field values follow with
    /// `appendLoadedValues`, in the same row order.
    mutating func appendLoaded(
        id: RecordID, rowID: RowID, vectorBytes: UnsafeRawBufferPointer
    ) -> (location: RowLocation, sealed: SegmentID?) {
        let index = growingIndexForAppend()
        guard case .exact(let block, _) = segments[index].storage else { preconditionFailure("growing segment without a block") }
        let row = segments[index].count
        block.write(row: row, id: id, rowID: rowID, vectorBytes: vectorBytes)
        return publishAppend(at: index, row: row)
    }

    /// The field values of a row loaded into an exact segment on open.
    func appendLoadedValues(_ values: [FieldValue], at location: RowLocation) {
        guard case .exact(_, let columns) = segments[segmentIndex(of: location.segment)!].storage else {
            preconditionFailure("not an exact segment")
        }
        columns.append(values, row: location.row)
    }

    private mutating func publishAppend(at index: Int, row: Int) -> (location: RowLocation, sealed: SegmentID?) {
        segments[index].count += 1
        if segments[index].firstRowAt == nil { segments[index].firstRowAt = .now }
        let location = RowLocation(segment: segments[index].id, row: row)
        guard segments[index].isFull else { return (location, nil) }
        segments[index].phase = .sealed
        return (location, segments[index].id)
    }

    /// A plain loop over indices: `lastIndex(where:)` copied every segment it passed (retains of
    /// its storage), once per appended row.
    private var growingIndex: Int? {
        var index = segments.count - 1
        while index >= 0 {
            if segments[index].phase == .growing { return index }
            index -= 1
        }
        return nil
    }

    private mutating func growingIndexForAppend() -> Int {
        if let index = growingIndex, !segments[index].isFull { return index }
        let block = VectorBlock(dimension: schema.dimension, capacity: segmentRows)
        let columns = AppendingColumns(schema: schema, capacity: segmentRows)
        let segment = SegmentState(
            id: nextSegmentID, phase: .growing, storage: .exact(block, columns), count: 0,
            createdAtMilliseconds: SegmentState.nowMilliseconds())
        nextSegmentID = nextSegmentID.next
        segments.append(segment)
        return segments.count - 1
    }

    /// Seals the growing segment if it has rows; returns its id.
    mutating func sealGrowing() -> SegmentID? {
        guard let index = growingIndex, segments[index].count > 0 else { return nil }
        segments[index].phase = .sealed
        return segments[index].id
    }

    /// The growing segment's age, if it has rows.
    var growingAge: Duration? {
        guard let index = growingIndex, let first = segments[index].firstRowAt else { return nil }
        return .now - first
    }

    /// A fresh segment id (for a compaction output). Taken under the lock like every change.
    mutating func allocateSegmentID() -> SegmentID {
        defer { nextSegmentID = nextSegmentID.next }
        return nextSegmentID
    }

    mutating func markDeleted(_ location: RowLocation) {
        segments[segmentIndex(of: location.segment)!].markDeleted(location.row)
    }

    mutating func setLocation(_ location: RowLocation?, for id: RecordID) {
        if let location { locations[id] = location } else { locations.removeValue(forKey: id) }
    }

    mutating func setPhase(_ phase: SegmentPhase, of id: SegmentID) {
        guard let index = segmentIndex(of: id) else { return }
        segments[index].phase = phase
    }

    mutating func installTemplate(_ template: Template) {
        templates[template.record.generation] = template
    }

    /// Replaces a sealed segment's in-memory vectors with its IVF lists (same rows, same local
    /// offsets, so locations stay valid).
    mutating func publishIndex(_ rows: IndexedRows, for id: SegmentID) {
        guard let index = segmentIndex(of: id) else { return }
        precondition(rows.rowIDs.count == segments[index].count, "\(id): index rows differ from the segment's")
        segments[index].storage = .indexed(rows)
        segments[index].phase = .indexed
    }

    /// Adds a segment built on open (ascending ids).
    mutating func insertLoadedSegment(_ segment: SegmentState) {
        let position = segments.firstIndex { $0.id > segment.id } ?? segments.count
        segments.insert(segment, at: position)
        if segment.id >= nextSegmentID { nextSegmentID = segment.id.next }
    }

    /// Removes a loaded segment that has no rows (open path).
    mutating func dropEmptySegment(_ id: SegmentID) {
        segments.removeAll { $0.id == id && $0.count == 0 }
    }

    /// Appends a row to a loaded exact segment (open path, rows of a segment being rebuilt).
    mutating func appendLoaded(
        to id: SegmentID, record: RecordID, rowID: RowID, vectorBytes: UnsafeRawBufferPointer
    ) -> RowLocation {
        let index = segmentIndex(of: id)!
        guard case .exact(let block, _) = segments[index].storage else { preconditionFailure("not an exact segment") }
        let row = segments[index].count
        block.write(row: row, id: record, rowID: rowID, vectorBytes: vectorBytes)
        segments[index].count += 1
        return RowLocation(segment: id, row: row)
    }

    /// Swaps compaction's inputs for its output in one step: every row of the output that is still
    /// the live version of its record moves there; the others are tombstoned in the output (they
    /// were deleted or replaced while the output was built). No row is missing or doubled at any
    /// moment, since readers see either the old segments or the new one.
    ///
    /// - Returns: the number of rows moved.
    mutating func replace(_ inputs: [SegmentID], with output: IndexedRows?, createdAtMilliseconds: Int64) -> Int {
        var moved = 0
        if let output {
            let inputSet = Set(inputs)
            var segment = SegmentState(
                id: output.record.id, phase: .indexed, storage: .indexed(output), count: output.rowIDs.count,
                createdAtMilliseconds: createdAtMilliseconds)
            for row in 0..<output.rowIDs.count {
                let record = output.labels[row]
                if let current = locations[record], inputSet.contains(current.segment), rowID(at: current) == output.rowIDs[row] {
                    locations[record] = RowLocation(segment: segment.id, row: row)
                    moved += 1
                } else {
                    segment.markDeleted(row)
                }
            }
            insertLoadedSegment(segment)
        }
        for segment in segments where inputs.contains(segment.id) {
            if case .indexed(let rows) = segment.storage {
                var info = segment.info(nlist: nil, codes: templates[rows.generation]?.record.codes)
                info.phase = .dropped
                retired.append(RetiredSegment(info: info, rows: rows))
            }
        }
        segments.removeAll { inputs.contains($0.id) }
        return moved
    }

    /// Replaced segments whose memory is still held (by views taken before the replacement),
    /// reported as `dropped`; the others are forgotten here.
    mutating func droppedSegments() -> [SegmentInfo] {
        retired.removeAll { $0.rows == nil }
        return retired.map(\.info)
    }
}

extension Array where Element == SegmentState {
    /// The position of the segment with this id, in segments that ascend by id (a collection's,
    /// or a view's), by binary search.
    func position(of id: SegmentID) -> Int? {
        let position = partitioningIndex { $0.id >= id }
        return position < count && self[position].id == id ? position : nil
    }
}

/// A segment compaction replaced: gone from the collection, its file deleted, its memory freed
/// when the last view that holds it goes.
struct RetiredSegment: Sendable {
    let info: SegmentInfo
    weak var rows: IndexedRows?
}
