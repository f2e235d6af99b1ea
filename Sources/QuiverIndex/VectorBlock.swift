import CFaissShim
import QuiverCore
#if canImport(Glibc)
import Glibc
#endif

/// Append-only storage for up to `capacity` rows of one collection: vectors (row-major, 64-byte
/// aligned), the record id of each row (the scan's tie-break label) and its row id.
///
/// Readers never see a count from the block itself: they hold a snapshot that says how many rows
/// are published, and they only read rows below it. The single writer of the collection appends
/// at or above the published count and publishes the new count afterwards under a lock, which
/// orders its stores before any reader's loads.
///
/// Proof for `@unchecked Sendable`: the memory is allocated in `init` and freed in `deinit`, never
/// reallocated. Rows below a published count are never written again, and rows at or above it are
/// only touched by the one writer (the engine's commit thread), so no location is written while
/// another thread can read it.
public final class VectorBlock: @unchecked Sendable {
    public let dimension: Int
    public let capacity: Int
    private let vectors: UnsafeMutablePointer<Float>
    private let labels: UnsafeMutablePointer<RecordID>
    private let rowIDs: UnsafeMutablePointer<RowID>

    public init(dimension: Int, capacity: Int) {
        precondition(dimension > 0 && capacity > 0)
        self.dimension = dimension
        self.capacity = capacity
        let bytes = capacity * dimension * MemoryLayout<Float>.stride
        let huge = bytes >= Self.hugePageBytes * 2
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: huge ? Self.hugePageBytes : 64)
        #if os(Linux)
        // An exact scan reads every row once: with 4 KiB pages a 51 MB scan touches 12,500
        // pages and leaves the TLB and caches cold for whatever runs next. On 2 MiB pages,
        // `quiver-bench server` (5 interleaved runs, medians) measured the in-process single
        // query at 2.22 ms instead of 2.73 and a trivial gRPC call right after a scan at 0.79 ms
        // instead of 1.08 (`quiver-bench engine`, whose searches run back to back, moved within
        // its noise). Debian's default is THP on `madvise`, so the block asks; where THP is off
        // the call does nothing. Memory is still committed as rows are written, in 2 MiB steps.
        if huge { _ = madvise(raw, bytes / Self.hugePageBytes * Self.hugePageBytes, MADV_HUGEPAGE) }
        #endif
        vectors = raw.bindMemory(to: Float.self, capacity: capacity * dimension)
        labels = .allocate(capacity: capacity)
        rowIDs = .allocate(capacity: capacity)
    }

    /// Transparent huge page size on x86-64 and arm64 with 4 KiB base pages.
    private static let hugePageBytes = 2 << 20

    deinit {
        UnsafeMutableRawPointer(vectors).deallocate()
        labels.deallocate()
        rowIDs.deallocate()
    }

    /// Bytes of memory the block holds.
    public var byteCount: Int { capacity * (dimension * MemoryLayout<Float>.stride + 16) }

    // MARK: Writer side (the collection's single writer only, at or above the published count)

    /// Stores one row. `vector.count` must equal `dimension`.
    public func write(row: Int, id: RecordID, rowID: RowID, vector: [Float]) {
        precondition(row >= 0 && row < capacity && vector.count == dimension)
        vector.withUnsafeBufferPointer { source in
            (vectors + row * dimension).update(from: source.baseAddress!, count: dimension)
        }
        labels[row] = id
        rowIDs[row] = rowID
    }

    /// Stores one row from a buffer of raw little-endian float32 bytes, as read from storage,
    /// without an intermediate array.
    public func write(row: Int, id: RecordID, rowID: RowID, vectorBytes: UnsafeRawBufferPointer) {
        precondition(row >= 0 && row < capacity && vectorBytes.count == dimension * 4)
        UnsafeMutableRawPointer(vectors + row * dimension).copyMemory(
            from: vectorBytes.baseAddress!, byteCount: vectorBytes.count)
        labels[row] = id
        rowIDs[row] = rowID
    }

    // MARK: Reader side (rows below a published count)

    public func vector(at row: Int) -> [Float] {
        precondition(row >= 0 && row < capacity)
        return Array(UnsafeBufferPointer(start: vectors + row * dimension, count: dimension))
    }

    public func id(at row: Int) -> RecordID { labels[row] }

    /// Runs `body` over the first `count` vectors, row-major (for index builds: the block is
    /// sealed, so these rows do not change).
    public func withVectors<R>(count: Int, _ body: (UnsafeBufferPointer<Float>) throws(QuiverError) -> R) throws(QuiverError) -> R {
        precondition(count <= capacity)
        return try body(UnsafeBufferPointer(start: vectors, count: count * dimension))
    }

    /// The record ids and row ids of the first `count` rows.
    public func ids(count: Int) -> (labels: [RecordID], rowIDs: [RowID]) {
        precondition(count <= capacity)
        return (Array(UnsafeBufferPointer(start: labels, count: count)), Array(UnsafeBufferPointer(start: rowIDs, count: count)))
    }

    public func rowID(at row: Int) -> RowID { rowIDs[row] }

    /// Scans the first `count` rows into `accumulator`, skipping the rows in `excluded`.
    /// Locations reported back are `locationBase + row`.
    public func scan(
        count: Int, excluded: RowBitmap?, locationBase: Int64, into accumulator: inout TopKAccumulator
    ) throws(QuiverError) {
        precondition(count <= capacity)
        precondition(excluded.map { $0.words.count * 64 >= count } ?? true)
        guard count > 0 else { return }
        try withShimLabels { (labels) throws(QuiverError) in
            try accumulator.withHeaps("exact scan") { heaps, message, messageCapacity in
                excluded.withShimWords { excluded in
                    quiver_topk_scan(
                        heaps.metric, heaps.dimension, heaps.queries, heaps.queryCount, vectors, Int64(count), labels,
                        locationBase, excluded, heaps.k, heaps.keys, heaps.labels, heaps.locations, heaps.sizes, message,
                        messageCapacity)
                }
            }
        }
    }

    /// Scans only the given rows (ascending local offsets below the published count): a
    /// filter's passing rows.
    public func scanRows(_ rows: [Int64], locationBase: Int64, into accumulator: inout TopKAccumulator) throws(QuiverError) {
        precondition(rows.allSatisfy { $0 >= 0 && $0 < capacity })
        guard !rows.isEmpty else { return }
        try withShimLabels { (labels) throws(QuiverError) in
            try accumulator.withHeaps("exact scan of chosen rows") { heaps, message, messageCapacity in
                quiver_topk_scan_rows(
                    heaps.metric, heaps.dimension, heaps.queries, heaps.queryCount, vectors, rows, Int64(rows.count), labels,
                    locationBase, heaps.k, heaps.keys, heaps.labels, heaps.locations, heaps.sizes, message, messageCapacity)
            }
        }
    }

    /// The record ids as the shim's `labels` argument (`RecordID` is one `UInt64`).
    private func withShimLabels<R>(_ body: (UnsafePointer<UInt64>) throws(QuiverError) -> R) throws(QuiverError) -> R {
        try labels.withMemoryRebound(to: UInt64.self, capacity: capacity) { (ids) throws(QuiverError) -> R in
            try body(UnsafePointer(ids))
        }
    }
}
