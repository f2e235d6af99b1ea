import QuiverCore
import QuiverFilter
import Synchronization

/// The field columns of an exact (growing or sealed) segment.
///
/// The commit thread appends a row's values as it appends the row's vector; searches evaluate
/// filters over the rows their view holds. Both happen under this lock: an evaluation visits at
/// most one segment's rows (about 0.1–0.5 ms at the default segment size), and holding the lock
/// that long is cheaper than the alternatives — copying the columns per commit while a search
/// holds them, or keeping a second, unsynchronized copy.
final class AppendingColumns: Sendable {
    private let columns: Mutex<FieldColumns>

    init(schema: CollectionSchema, capacity: Int) {
        columns = Mutex(FieldColumns(schema: schema, reservingCapacity: capacity))
    }

    /// Appends one row's values (schema order). The row is the segment's next one.
    func append(_ values: [FieldValue], row: Int) {
        columns.withLock { columns in
            precondition(columns.count == row, "field values out of step with the segment's rows")
            columns.append(values)
        }
    }

    var count: Int { columns.withLock { $0.count } }

    /// The first `count` rows that pass `filter`.
    func passing(_ filter: Filter, count: Int) -> RowBitmap {
        columns.withLock { filter.rows(in: $0, count: count) }
    }

    /// The values and indexes of a sealed segment (no row is appended any more).
    func frozen() -> SegmentFields { SegmentFields(freezing: columns.withLock { $0 }) }

    var memoryBytes: Int { columns.withLock { $0.memoryBytes } }
}
