import CFaissShim
import QuiverCore

/// A FAISS IVF index owned by Quiver: a collection's trained template, or one segment's lists.
///
/// Every segment of a collection is an empty clone of the collection's template, filled with the
/// segment's rows under their local offsets as ids, so all segments share the template's
/// centroids and code parameters (docs/architecture.md, "Segments").
///
/// Proof for `@unchecked Sendable`: `add` is the only mutation and is only called by the thread
/// that builds the index, before the index is published to readers; after that every call is a
/// read (FAISS CPU search on an immutable index is safe from several threads). `deinit` frees
/// the handle once no reference remains.
public final class IVFIndex: @unchecked Sendable {
    private let handle: OpaquePointer
    public let dimension: Int

    private init(handle: OpaquePointer, dimension: Int) {
        self.handle = handle
        self.dimension = dimension
    }

    deinit { quiver_faiss_free(handle) }

    /// Trains a template on row-major vectors: k-means for `nlist` centroids, then the codes.
    ///
    /// - Parameters:
    ///   - innerProduct: `true` for `ip` and `cosine`.
    ///   - spherical: normalize centroids (cosine).
    public static func train(
        innerProduct: Bool, dimension: Int, nlist: Int, codes: IVFCodes, spherical: Bool,
        vectors: [Float], iterations: Int, seed: Int
    ) throws(QuiverError) -> IVFIndex {
        precondition(vectors.count % dimension == 0)
        let (kind, m): (Int32, Int32) =
            switch codes {
            case .flat: (QUIVER_CODES_FLAT, 0)
            case .sq8: (QUIVER_CODES_SQ8, 0)
            case .pq(let m): (QUIVER_CODES_PQ, Int32(m))
            }
        var out: OpaquePointer?
        try shimCall("IVF training") {
            quiver_ivf_train(
                innerProduct ? QUIVER_METRIC_IP : QUIVER_METRIC_L2, Int64(dimension), Int64(nlist), kind, m,
                spherical ? 1 : 0, vectors, Int64(vectors.count / dimension), Int32(iterations), Int64(seed), &out, $0, $1)
        }
        return IVFIndex(handle: out!, dimension: dimension)
    }

    /// An empty, trained copy (for a new segment): of a template, or of a segment built from one.
    public func emptyClone() throws(QuiverError) -> IVFIndex {
        var out: OpaquePointer?
        try shimCall("IVF clone") { quiver_ivf_clone_empty(handle, &out, $0, $1) }
        return IVFIndex(handle: out!, dimension: dimension)
    }

    /// Adds row-major vectors under the given ids. Only before the index is shared.
    public func add(_ vectors: UnsafeBufferPointer<Float>, ids: [Int64]) throws(QuiverError) {
        precondition(vectors.count == ids.count * dimension)
        try shimCall("IVF add") { quiver_ivf_add(handle, Int64(ids.count), vectors.baseAddress, ids, $0, $1) }
    }

    public var count: Int { Int(quiver_faiss_ntotal(handle)) }
    public var nlist: Int { Int(quiver_ivf_nlist(handle)) }
    /// Bytes held by the inverted lists and the centroids.
    public var memoryBytes: Int { Int(quiver_ivf_memory_bytes(handle)) }

    public func listSizes() -> [Int] {
        var sizes = [Int64](repeating: 0, count: nlist)
        quiver_ivf_list_sizes(handle, &sizes)
        return sizes.map(Int.init)
    }

    /// The list of every local row (a segment's index only).
    public func rowLists() throws(QuiverError) -> [Int32] {
        var lists = [Int32](repeating: 0, count: count)
        guard quiver_ivf_row_lists(handle, &lists) == 0 else {
            throw QuiverError(.internal, .internalFailure, "the IVF index has no row map (not a segment's index)")
        }
        return lists
    }

    /// The coarse assignment of every query: `nprobe` lists each (-1 where fewer lists exist).
    public func assign(queries: [Float], nprobe: Int) throws(QuiverError) -> IVFAssignment {
        let nq = queries.count / dimension
        var lists = [Int64](repeating: -1, count: nq * nprobe)
        var distances = [Float](repeating: 0, count: nq * nprobe)
        try shimCall("IVF assign") {
            quiver_ivf_assign(handle, Int64(nq), queries, Int64(nprobe), &lists, &distances, $0, $1)
        }
        return IVFAssignment(nprobe: nprobe, lists: lists, distances: distances)
    }

    /// Every query's key to every centroid (squared L2, or minus the inner product), `queries ×
    /// nlist` floats: what `walkScan` orders the lists by.
    public func coarseKeys(queries: [Float], innerProduct: Bool) throws(QuiverError) -> [Float] {
        let nq = queries.count / dimension
        var keys = [Float](repeating: 0, count: nq * nlist)
        try shimCall("IVF coarse keys") {
            quiver_ivf_coarse_keys(handle, innerProduct ? QUIVER_METRIC_IP : QUIVER_METRIC_L2, Int64(nq), queries, &keys, $0, $1)
        }
        return keys
    }

    /// A filtered scan of this segment into `accumulator` that walks each query's lists nearest
    /// first and stops once it has probed `listsMin` lists, lists holding as many rows outside
    /// `excluded` as `share` of the rows of its first `listsPlanned` lists, and the lists left
    /// are expected to hold at most `missBudget` passing rows better than its current k-th hit,
    /// or than this segment's ⌈`segmentHits`⌉-th hit when that is nearer (the segment's expected
    /// share of the final k; `quiver_ivf_walk_scan`). Needs no assignment: it orders all lists
    /// itself. Returns the lists each query probed.
    /// `coarseKeys`: `coarseKeys(queries:innerProduct:)` of the accumulator's queries from an
    /// index with the same centroids (the template), shared by the segments walked; `nil`
    /// computes them here. `fewerQueries` (positions) use one list less for `listsMin` and
    /// `listsPlanned`.
    public func walkScan(
        labels: [RecordID], excluded: RowBitmap?, locationBase: Int64, listsMin: Int, listsPlanned: Int, share: Double,
        missBudget: Double, segmentHits: Double = 0, coarseKeys: [Float]?, fewerQueries: [Int] = [],
        into accumulator: inout TopKAccumulator
    ) throws(QuiverError) -> [Int] {
        precondition(labels.count >= count)
        precondition(coarseKeys.map { $0.count == accumulator.queryCount * nlist } ?? true)
        var walked = [Int64](repeating: 0, count: accumulator.queryCount)
        var fewer = [UInt8](repeating: 0, count: fewerQueries.isEmpty ? 0 : accumulator.queryCount)
        for q in fewerQueries { fewer[q] = 1 }
        try labels.withShimLabels { (labels) throws(QuiverError) in
            try accumulator.withHeaps("IVF list walk") { heaps, message, messageCapacity in
                excluded.withShimWords { excluded in
                    quiver_ivf_walk_scan(
                        handle, heaps.metric, heaps.queries, heaps.queryCount, coarseKeys, labels, locationBase, excluded,
                        fewer.isEmpty ? nil : fewer, Int64(listsMin),
                        Int64(listsPlanned), share, missBudget, segmentHits, heaps.k, heaps.keys, heaps.labels, heaps.locations, heaps.sizes,
                        &walked, message, messageCapacity)
                }
            }
        }
        return walked.map(Int.init)
    }

    /// Scans the assigned lists into `accumulator`. `labels[i]` is the record id of local row i;
    /// rows in `excluded` are skipped inside the scan.
    public func scan(
        assignment: IVFAssignment, labels: [RecordID], excluded: RowBitmap?, locationBase: Int64,
        into accumulator: inout TopKAccumulator
    ) throws(QuiverError) {
        precondition(assignment.lists.count == accumulator.queryCount * assignment.nprobe)
        precondition(labels.count >= count)
        try labels.withShimLabels { (labels) throws(QuiverError) in
            try accumulator.withHeaps("IVF scan") { heaps, message, messageCapacity in
                excluded.withShimWords { excluded in
                    quiver_ivf_scan(
                        handle, heaps.metric, heaps.queries, heaps.queryCount, assignment.lists, assignment.distances,
                        Int64(assignment.nprobe), labels, locationBase, excluded, heaps.k, heaps.keys, heaps.labels,
                        heaps.locations, heaps.sizes, message, messageCapacity)
                }
            }
        }
    }

    /// Exact distances to chosen local rows, wherever their lists are (a filter's few passing
    /// rows). `labels[i]` is the record id of local row i.
    public func scanRows(_ rows: [Int64], labels: [RecordID], locationBase: Int64, into accumulator: inout TopKAccumulator) throws(QuiverError) {
        precondition(labels.count >= count)
        guard !rows.isEmpty else { return }
        try labels.withShimLabels { (labels) throws(QuiverError) in
            try accumulator.withHeaps("IVF scan of chosen rows") { heaps, message, messageCapacity in
                quiver_ivf_scan_rows(
                    handle, heaps.metric, heaps.queries, heaps.queryCount, rows, Int64(rows.count), labels, locationBase, heaps.k,
                    heaps.keys, heaps.labels, heaps.locations, heaps.sizes, message, messageCapacity)
            }
        }
    }

    /// Plain FAISS IVF search (the benchmark's baseline).
    public func searchFAISS(_ queries: [Float], k: Int, nprobe: Int) throws(QuiverError) -> (distances: [Float], labels: [Int64]) {
        let nq = queries.count / dimension
        var distances = [Float](repeating: 0, count: nq * k)
        var labels = [Int64](repeating: -1, count: nq * k)
        try shimCall("FAISS IVF search") {
            quiver_faiss_search_ivf(handle, Int64(nq), queries, Int64(k), Int64(nprobe), &distances, &labels, $0, $1)
        }
        return (distances, labels)
    }

    /// Plain FAISS IVF search over the ids set in `selected` (FAISS's IDSelectorBitmap; the
    /// filtered benchmark's baseline).
    public func searchFAISS(
        _ queries: [Float], k: Int, nprobe: Int, selected: [UInt64]
    ) throws(QuiverError) -> (distances: [Float], labels: [Int64]) {
        let nq = queries.count / dimension
        var distances = [Float](repeating: 0, count: nq * k)
        var labels = [Int64](repeating: -1, count: nq * k)
        try shimCall("FAISS IVF search with a selector") {
            quiver_faiss_search_ivf_selected(
                handle, Int64(nq), queries, Int64(k), Int64(nprobe), selected, Int64(selected.count), &distances, &labels, $0, $1)
        }
        return (distances, labels)
    }

    /// FAISS's own serialization of the index.
    public func serialized() throws(QuiverError) -> [UInt8] {
        var data: UnsafeMutablePointer<UInt8>?
        var size = 0
        try shimCall("IVF serialize") { quiver_faiss_serialize(handle, &data, &size, $0, $1) }
        defer { quiver_buffer_free(data) }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Reads an index that `serialized()` wrote, holding `rows` vectors of `dimension`. Its layout
    /// is checked first (`quiver_ivf_check_layout`), so that FAISS's reader, which allocates what
    /// the bytes' counts say, only ever sees counts that fit the bytes.
    ///
    /// - Throws: `corruption` when the bytes are not an IVF index of `dimension` with `rows` rows.
    public static func deserialize(_ bytes: UnsafeRawBufferPointer, dimension: Int, rows: Int) throws(QuiverError) -> IVFIndex {
        var out: OpaquePointer?
        do {
            try shimCall("IVF layout check") {
                quiver_ivf_check_layout(
                    bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, Int64(dimension), Int64(rows), $0, $1)
            }
            try shimCall("IVF deserialize") {
                quiver_faiss_deserialize(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &out, $0, $1)
            }
        } catch {
            throw .corruption("unreadable FAISS index: \(error.message)")
        }
        // Owned from here, so that the checks below free it when they throw.
        let index = IVFIndex(handle: out!, dimension: dimension)
        guard quiver_ivf_nlist(index.handle) > 0 else { throw .corruption("the FAISS index is not an IVF index") }
        let stored = Int(quiver_faiss_d(index.handle))
        guard stored == dimension else { throw .corruption("the FAISS index has dimension \(stored), expected \(dimension)") }
        return index
    }
}

/// The lists a batch of queries probes, computed once per batch and shared by every segment
/// trained from the same template.
public struct IVFAssignment: Sendable {
    public let nprobe: Int
    /// `nprobe` list numbers per query, nearest first; -1 past the last list.
    public let lists: [Int64]
    /// The coarse distance of each of those lists (squared L2, or inner product).
    public let distances: [Float]

    public init(nprobe: Int, lists: [Int64], distances: [Float]) {
        self.nprobe = nprobe
        self.lists = lists
        self.distances = distances
    }

    /// Itself with the last list of each query in `queries` (positions) left out: those probe
    /// one list fewer.
    public func dropLast(forQueriesAt queries: [Int]) -> IVFAssignment {
        guard nprobe > 0, !queries.isEmpty else { return self }
        var lists = self.lists
        for q in queries { lists[q * nprobe + nprobe - 1] = -1 }
        return IVFAssignment(nprobe: nprobe, lists: lists, distances: distances)
    }

    /// The first `nprobe` lists of each query (a segment that needs fewer lists than the
    /// assignment's other segments); itself when `nprobe` is not smaller.
    public func prefix(nprobe wanted: Int) -> IVFAssignment {
        guard wanted < nprobe, nprobe > 0 else { return self }
        let queries = lists.count / nprobe
        var lists: [Int64] = []
        var distances: [Float] = []
        lists.reserveCapacity(queries * wanted)
        distances.reserveCapacity(queries * wanted)
        for q in 0..<queries {
            lists += self.lists[(q * nprobe)..<(q * nprobe + wanted)]
            distances += self.distances[(q * nprobe)..<(q * nprobe + wanted)]
        }
        return IVFAssignment(nprobe: wanted, lists: lists, distances: distances)
    }
}

/// CRC-32C, hardware-accelerated where the CPU has SSE4.2.
public enum CRC32C {
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        quiver_crc32c(crc, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
    }
}
