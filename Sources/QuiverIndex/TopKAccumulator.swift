import CFaissShim
import QuiverCore

/// The best `k` hits of each of a set of queries, accumulated over any number of scans.
///
/// Scores follow the metric (`l2` squared distance ascending, inner product descending) and ties
/// are broken by the smaller label, so the result is a deterministic function of the rows scanned,
/// whatever their order. Owns its buffers; one accumulator is used by one thread at a time.
public struct TopKAccumulator: Sendable {
    /// One result: the score, the label (record id) and the location the scan was given.
    public struct Hit: Sendable, Hashable {
        public var score: Float
        public var label: UInt64
        public var location: Int64
    }

    public let k: Int
    public let queryCount: Int
    public let dimension: Int
    public let metric: Int32
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
        self.metric = innerProduct ? QUIVER_METRIC_IP : QUIVER_METRIC_L2
        self.queries = queries
        keys = Array(repeating: 0, count: queryCount * k)
        labels = Array(repeating: 0, count: queryCount * k)
        locations = Array(repeating: 0, count: queryCount * k)
        sizes = Array(repeating: 0, count: queryCount)
    }

    /// Scans `count` rows starting at `base`. Called by `VectorBlock`, which owns the memory.
    mutating func scan(
        base: UnsafePointer<Float>, count: Int, labels rowLabels: UnsafePointer<UInt64>,
        excluded: [UInt64]?, locationBase: Int64
    ) throws(QuiverError) {
        guard count > 0 else { return }
        try shimCall("exact scan") { message, messageCapacity in
            queries.withUnsafeBufferPointer { q in
                keys.withUnsafeMutableBufferPointer { keys in
                    labels.withUnsafeMutableBufferPointer { labels in
                        locations.withUnsafeMutableBufferPointer { locations in
                            sizes.withUnsafeMutableBufferPointer { sizes in
                                withOptionalBuffer(excluded) { excluded in
                                    quiver_topk_scan(
                                        metric, Int64(dimension), q.baseAddress, Int64(queryCount),
                                        base, Int64(count), rowLabels, locationBase, excluded,
                                        Int64(k), keys.baseAddress, labels.baseAddress,
                                        locations.baseAddress, sizes.baseAddress, message, messageCapacity)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Scans the assigned lists of an IVF index. Called by `IVFIndex`, which owns the handle.
    mutating func scanIVF(
        handle: OpaquePointer, assignment: IVFAssignment, labels rowLabels: [UInt64], excluded: [UInt64]?,
        locationBase: Int64
    ) throws(QuiverError) {
        precondition(assignment.lists.count == queryCount * assignment.nprobe)
        try shimCall("IVF scan") { message, messageCapacity in
            queries.withUnsafeBufferPointer { q in
                keys.withUnsafeMutableBufferPointer { keys in
                    labels.withUnsafeMutableBufferPointer { labels in
                        locations.withUnsafeMutableBufferPointer { locations in
                            sizes.withUnsafeMutableBufferPointer { sizes in
                                withOptionalBuffer(excluded) { excluded in
                                    quiver_ivf_scan(
                                        handle, metric, q.baseAddress, Int64(queryCount), assignment.lists,
                                        assignment.distances, Int64(assignment.nprobe), rowLabels, locationBase,
                                        excluded, Int64(k), keys.baseAddress, labels.baseAddress,
                                        locations.baseAddress, sizes.baseAddress, message, messageCapacity)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Scans chosen rows (local offsets) of a block. Called by `VectorBlock`.
    mutating func scanRows(
        base: UnsafePointer<Float>, rows: [Int64], labels rowLabels: UnsafePointer<UInt64>, locationBase: Int64
    ) throws(QuiverError) {
        guard !rows.isEmpty else { return }
        let (metric, dimension, queryCount, k) = (metric, Int64(dimension), Int64(queryCount), Int64(k))
        try withHeaps("exact scan of chosen rows") { q, keys, labels, locations, sizes, message, capacity in
            quiver_topk_scan_rows(
                metric, dimension, q, queryCount, base, rows, Int64(rows.count), rowLabels, locationBase,
                k, keys, labels, locations, sizes, message, capacity)
        }
    }

    /// Scans chosen rows (local ids) of an IVF segment. Called by `IVFIndex`.
    mutating func scanIVFRows(
        handle: OpaquePointer, rows: [Int64], labels rowLabels: [UInt64], locationBase: Int64
    ) throws(QuiverError) {
        guard !rows.isEmpty else { return }
        let (metric, queryCount, k) = (metric, Int64(queryCount), Int64(k))
        try withHeaps("IVF scan of chosen rows") { q, keys, labels, locations, sizes, message, capacity in
            quiver_ivf_scan_rows(
                handle, metric, q, queryCount, rows, Int64(rows.count), rowLabels, locationBase, k, keys,
                labels, locations, sizes, message, capacity)
        }
    }

    private mutating func withHeaps(
        _ what: String,
        _ body: (
            UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<UInt64>?, UnsafeMutablePointer<Int64>?,
            UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<CChar>, Int
        ) -> Int32
    ) throws(QuiverError) {
        try shimCall(what) { message, messageCapacity in
            queries.withUnsafeBufferPointer { q in
                keys.withUnsafeMutableBufferPointer { keys in
                    labels.withUnsafeMutableBufferPointer { labels in
                        locations.withUnsafeMutableBufferPointer { locations in
                            sizes.withUnsafeMutableBufferPointer { sizes in
                                body(
                                    q.baseAddress, keys.baseAddress, labels.baseAddress, locations.baseAddress,
                                    sizes.baseAddress, message, messageCapacity)
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
                return Hit(score: keys[slot], label: labels[slot], location: locations[slot])
            }
        }
    }
}

private func withOptionalBuffer<R>(_ words: [UInt64]?, _ body: (UnsafePointer<UInt64>?) -> R) -> R {
    guard let words else { return body(nil) }
    return words.withUnsafeBufferPointer { body($0.baseAddress) }
}
