import Algorithms
import Foundation
import QuiverCore
import QuiverFilter
import QuiverIndex
import QuiverStorage

/// The rows of an indexed segment: its IVF lists and, per local row, its row id and record id.
/// Immutable once built; shared by every view that holds the segment.
final class IndexedRows: Sendable {
    let index: IVFIndex
    /// Row id of each local row, ascending.
    let rowIDs: [RowID]
    /// Record id of each local row (the scan's tie-break label).
    let labels: [RecordID]
    let record: SegmentRecord
    /// Field values by local row, with their indexes (deleted rows' values may be null).
    let fields: SegmentFields
    /// The record's calibration when it fits the index (a manifest record is not trusted blindly:
    /// a table of another shape is ignored and the planner falls back to its fixed rules).
    let calibration: RecallCalibration?

    init(index: IVFIndex, rowIDs: [RowID], labels: [RecordID], record: SegmentRecord, fields: SegmentFields) {
        precondition(rowIDs.count == labels.count && rowIDs.count == index.count && fields.count == rowIDs.count)
        self.index = index
        self.rowIDs = rowIDs
        self.labels = labels
        self.record = record
        self.fields = fields
        calibration = record.calibration.flatMap { $0.isValid && $0.nlist == index.nlist ? $0 : nil }
    }

    var generation: UInt32 { record.template }

    /// The local row of a row id, by binary search.
    func row(of rowID: RowID) -> Int? { Self.row(of: rowID, in: rowIDs) }

    /// The position of `rowID` in ascending `rowIDs`.
    static func row(of rowID: RowID, in rowIDs: [RowID]) -> Int? {
        let position = rowIDs.partitioningIndex { $0 >= rowID }
        return position < rowIDs.count && rowIDs[position] == rowID ? position : nil
    }
}

/// One segment of a collection, as a value: its phase, its rows and its tombstones.
///
/// Readers' views hold copies; the writer's next change to `tombstones` copies the bitmap instead of
/// changing what a reader is scanning. The rows themselves are reference types that never change
/// below the published `count`.
struct SegmentState: Sendable {
    enum Storage: Sendable {
        /// Vectors and field values in memory, searched exactly: growing and sealed segments.
        case exact(VectorBlock, AppendingColumns)
        /// IVF lists: indexed segments (vectors are read from storage when a result needs them).
        case indexed(IndexedRows)
    }

    let id: SegmentID
    var phase: SegmentPhase
    var storage: Storage
    /// Rows published; for an exact segment the block's rows below it are immutable.
    var count: Int
    /// Tombstones: the deleted or replaced rows, over the segment's capacity; `nil` until the
    /// segment's first tombstone.
    private(set) var tombstones: RowBitmap?
    private(set) var deletedCount = 0
    let createdAtMilliseconds: Int64
    /// When the first row arrived (growing segments are sealed once old enough).
    var firstRowAt: ContinuousClock.Instant?

    init(id: SegmentID, phase: SegmentPhase, storage: Storage, count: Int, createdAtMilliseconds: Int64) {
        self.id = id
        self.phase = phase
        self.storage = storage
        self.count = count
        self.createdAtMilliseconds = createdAtMilliseconds
    }

    var liveCount: Int { count - deletedCount }

    /// An indexed segment whose recall calibration is missing (or does not fit its index) while
    /// it has rows enough to measure one: the planner falls back to its fixed rules for it.
    var lacksCalibration: Bool {
        guard case .indexed(let rows) = storage else { return false }
        return rows.calibration == nil && liveCount >= 2
    }

    var capacity: Int {
        switch storage {
        case .exact(let block, _): block.capacity
        case .indexed(let rows): rows.rowIDs.count
        }
    }

    var isFull: Bool { count == capacity }

    func rowID(at row: Int) -> RowID {
        switch storage {
        case .exact(let block, _): block.rowID(at: row)
        case .indexed(let rows): rows.rowIDs[row]
        }
    }

    func label(at row: Int) -> RecordID {
        switch storage {
        case .exact(let block, _): block.id(at: row)
        case .indexed(let rows): rows.labels[row]
        }
    }

    func isDeleted(_ row: Int) -> Bool { tombstones?.contains(row) ?? false }

    /// The published rows that are not deleted.
    var liveRows: RowBitmap {
        var rows = RowBitmap.all(count)
        if let tombstones { rows.subtract(tombstones) }
        return rows
    }

    /// The live rows of the first `count` that pass `filter`.
    func passing(_ filter: Filter) -> RowBitmap {
        var rows =
            switch storage {
            case .exact(_, let columns): columns.passing(filter, count: count)
            case .indexed(let indexed): filter.rows(in: indexed.fields)
            }
        if let tombstones { rows.subtract(tombstones) }
        return rows
    }

    mutating func markDeleted(_ row: Int) {
        precondition(row < count && !isDeleted(row), "\(id) row \(row) deleted twice or not published")
        if tombstones == nil { tombstones = RowBitmap(count: capacity) }
        tombstones!.insert(row)
        deletedCount += 1
    }

    var memoryBytes: Int {
        let bitmap = tombstones?.memoryBytes ?? 0
        switch storage {
        case .exact(let block, let columns): return block.byteCount + columns.memoryBytes + bitmap
        case .indexed(let rows): return rows.index.memoryBytes + rows.rowIDs.count * 16 + rows.fields.memoryBytes + bitmap
        }
    }

    func info(nlist: Int?, codes: IVFCodes?) -> SegmentInfo {
        var indexedAt: Int64?
        var build: Int64?
        var segmentCodes: IVFCodes?
        var segmentNlist: Int?
        if case .indexed(let rows) = storage {
            indexedAt = rows.record.indexedAtMilliseconds
            build = rows.record.buildMilliseconds
            segmentCodes = codes
            segmentNlist = rows.index.nlist
        }
        return SegmentInfo(
            id: id, phase: phase, rows: count, deletedRows: deletedCount, memoryBytes: memoryBytes, codes: segmentCodes,
            nlist: segmentNlist ?? (phase == .indexed ? nlist : nil), createdAtMilliseconds: createdAtMilliseconds,
            indexedAtMilliseconds: indexedAt, buildMilliseconds: build)
    }

    static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
