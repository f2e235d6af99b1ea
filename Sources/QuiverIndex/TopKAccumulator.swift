import CFaissShim
import QuiverCore

/// The best `k` hits of each of a set of queries, accumulated over any number of scans.
///
/// Scores follow the metric (`l2` squared distance ascending, inner product descending) and ties
/// are broken by the smaller record id, so the result is a deterministic function of the rows
/// scanned, whatever their order. Owns its buffers; one accumulator is used by one thread at a
/// time. The scans themselves belong to the types that own the rows (`VectorBlock`, `IVFIndex`):
/// they call the shim with the heaps that `withHeaps` lends them, so that no other type sees the
/// accumulator's memory and no FAISS handle leaves `IVFIndex`.
public struct TopKAccumulator: Sendable {
    /// One result: the score, the record id and the location the scan was given.
    public struct Hit: Sendable, Hashable {
        public var score: Float
        public var label: RecordID
        public var location: Int64
    }

    public let k: Int
    public let queryCount: Int
    public let dimension: Int
    public let innerProduct: Bool
    private let queries: [Float]
    private var keys: [Float]
    private var labels: [UInt64]
    private var locations: [Int64]
    private var sizes: [Int64]

    /// - Parameters:
    ///   - queries: `queryCount × dimension` floats, row-major, prepared for the metric.
    ///   - innerProduct: `true` for `ip` and `cosine`, `false` for `l2`.
    public init(queries: [Float], dimension: Int, k: Int, innerProduct: Bool) {
        precondition(dimension > 0 && k > 0 && queries.count % dimension == 0)
        self.k = k
        self.dimension = dimension
        self.queryCount = queries.count / dimension
        self.innerProduct = innerProduct
        self.queries = queries
        keys = Array(repeating: 0, count: queryCount * k)
        labels = Array(repeating: 0, count: queryCount * k)
        locations = Array(repeating: 0, count: queryCount * k)
        sizes = Array(repeating: 0, count: queryCount)
    }

    /// The accumulator's queries and heaps as the shim's scan functions take them. Valid only
    /// inside the `withHeaps` call that lends them.
    struct Heaps {
        let metric: Int32
        let dimension: Int64
        let queries: UnsafePointer<Float>?
        let queryCount: Int64
        let k: Int64
        let keys: UnsafeMutablePointer<Float>?
        let labels: UnsafeMutablePointer<UInt64>?
        let locations: UnsafeMutablePointer<Int64>?
        let sizes: UnsafeMutablePointer<Int64>?
    }

    /// Lends the heaps to one shim scan (`body` returns the shim's status and writes its message
    /// into the buffer it is given); a failure becomes a `QuiverError` naming `what`.
    mutating func withHeaps(
        _ what: String, _ body: (Heaps, UnsafeMutablePointer<CChar>, Int) -> Int32
    ) throws(QuiverError) {
        let (metric, dimension, queryCount, k) =
            (innerProduct ? QUIVER_METRIC_IP : QUIVER_METRIC_L2, Int64(dimension), Int64(queryCount), Int64(k))
        try shimCall(what) { message, messageCapacity in
            queries.withUnsafeBufferPointer { queries in
                keys.withUnsafeMutableBufferPointer { keys in
                    labels.withUnsafeMutableBufferPointer { labels in
                        locations.withUnsafeMutableBufferPointer { locations in
                            sizes.withUnsafeMutableBufferPointer { sizes in
                                body(
                                    Heaps(
                                        metric: metric, dimension: dimension, queries: queries.baseAddress, queryCount: queryCount,
                                        k: k, keys: keys.baseAddress, labels: labels.baseAddress, locations: locations.baseAddress,
                                        sizes: sizes.baseAddress),
                                    message, messageCapacity)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The queries, row-major, as the accumulator holds them.
    public var queryVectors: [Float] { queries }

    /// The hits of every query, best first. Consumes the accumulator's heaps.
    public consuming func finish() -> [[Hit]] {
        let metric = innerProduct ? QUIVER_METRIC_IP : QUIVER_METRIC_L2
        keys.withUnsafeMutableBufferPointer { keys in
            labels.withUnsafeMutableBufferPointer { labels in
                locations.withUnsafeMutableBufferPointer { locations in
                    quiver_topk_finalize(
                        metric, Int64(queryCount), Int64(k), keys.baseAddress, labels.baseAddress,
                        locations.baseAddress, sizes)
                }
            }
        }
        return (0..<queryCount).map { q in
            (0..<Int(sizes[q])).map { i in
                let slot = q * k + i
                return Hit(score: keys[slot], label: RecordID(labels[slot]), location: locations[slot])
            }
        }
    }
}

// MARK: The shim boundary

// `RecordID` and `RowBitmap` words are handed to the shim as the `uint64_t` arrays it reads;
// `RecordID` is a struct around one `UInt64`, so its array has the layout of a `[UInt64]`.

extension Array where Element == RecordID {
    /// The record ids as the shim's `labels` argument.
    func withShimLabels<R>(_ body: (UnsafePointer<UInt64>?) throws(QuiverError) -> R) throws(QuiverError) -> R {
        try withUnsafeBufferPointer { (ids) throws(QuiverError) -> R in
            try ids.withMemoryRebound(to: UInt64.self) { (words) throws(QuiverError) -> R in try body(words.baseAddress) }
        }
    }
}

extension Optional where Wrapped == RowBitmap {
    /// The rows to skip as the shim's `excluded` argument (NULL for none).
    func withShimWords<R>(_ body: (UnsafePointer<UInt64>?) -> R) -> R {
        guard let bitmap = self else { return body(nil) }
        return bitmap.words.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
