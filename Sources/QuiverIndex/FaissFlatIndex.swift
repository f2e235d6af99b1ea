import CFaissShim
import QuiverCore

/// A FAISS `IndexFlatL2` / `IndexFlatIP`, used as the reference that Quiver's exact search is
/// measured against. Owns its handle; safe to search from several threads once filled, since FAISS
/// CPU search does not mutate the index.
///
/// Proof for `@unchecked Sendable`: `add` is the only mutation and is documented as exclusive
/// (callers fill the index before sharing it); `deinit` frees the handle once no reference remains.
public final class FaissFlatIndex: @unchecked Sendable {
    private let handle: OpaquePointer
    public let dimension: Int

    public init(dimension: Int, innerProduct: Bool) throws(QuiverError) {
        var out: OpaquePointer?
        try shimCall("FAISS create") {
            quiver_faiss_flat_new(Int64(dimension), innerProduct ? QUIVER_METRIC_IP : QUIVER_METRIC_L2, &out, $0, $1)
        }
        handle = out!
        self.dimension = dimension
    }

    deinit { quiver_faiss_free(handle) }

    public var count: Int { Int(quiver_faiss_ntotal(handle)) }

    /// Adds row-major vectors. Not concurrent with searches.
    public func add(_ vectors: [Float]) throws(QuiverError) {
        precondition(vectors.count % dimension == 0)
        try shimCall("FAISS add") { quiver_faiss_add(handle, Int64(vectors.count / dimension), vectors, $0, $1) }
    }

    /// FAISS's own search: per query, `k` (distance, label) pairs, label -1 when missing.
    public func search(_ queries: [Float], k: Int) throws(QuiverError) -> (distances: [Float], labels: [Int64]) {
        precondition(queries.count % dimension == 0)
        let nq = queries.count / dimension
        var distances = [Float](repeating: 0, count: nq * k)
        var labels = [Int64](repeating: -1, count: nq * k)
        try shimCall("FAISS search") {
            quiver_faiss_search(handle, Int64(nq), queries, Int64(k), &distances, &labels, $0, $1)
        }
        return (distances, labels)
    }
}
