/// How vectors of a collection are compared.
///
/// - `l2`: squared Euclidean distance; smaller is better.
/// - `ip`: inner product; larger is better.
/// - `cosine`: cosine similarity; larger is better. Vectors are normalized to unit length when
///   written (so `get` returns the normalized vector) and queries are normalized before search,
///   which turns cosine into an inner product over the stored vectors.
public enum Metric: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case l2
    case ip
    case cosine

    public var description: String { rawValue }

    /// The largest squared length a vector may have under `l2` and `ip`: a quarter of the largest
    /// float32. Then every score between two such vectors is finite — a squared distance is at
    /// most 2‖x‖² + 2‖y‖², an inner product at most ‖x‖·‖y‖ — and so is every partial sum the
    /// kernels form on the way. Without the bound a search over finite but huge components
    /// returned `inf` scores. (Cosine normalizes, so it needs none.)
    public static let squaredNormMax = Double(Float.greatestFiniteMagnitude) / 4

    /// Whether a larger score is a better match.
    public var higherIsBetter: Bool { self != .l2 }

    /// Checks a vector against a dimension and the metric's rules and returns the vector as it is
    /// stored or searched (normalized for cosine).
    ///
    /// - Parameters:
    ///   - what: describes the vector in error messages, for example `record 17` or `query 3`.
    public func prepare(
        _ vector: [Float], dimension: Int, collection: String, what: String
    ) throws(QuiverError) -> [Float] {
        guard vector.count == dimension else {
            throw .invalid(
                .dimensionMismatch,
                "collection \"\(collection)\": \(what) has dimension \(vector.count), expected \(dimension)",
                collection: collection, field: "vector", value: String(vector.count))
        }
        var sumOfSquares: Double = 0
        for (i, x) in vector.enumerated() {
            guard x.isFinite else {
                throw .invalid(
                    .nonFiniteVector,
                    "collection \"\(collection)\": \(what) has a non-finite component \(x) at index \(i)",
                    collection: collection, field: "vector", value: String(describing: x))
            }
            sumOfSquares += Double(x) * Double(x)
        }
        guard self == .cosine else {
            guard sumOfSquares <= Self.squaredNormMax else {
                throw .invalid(
                    .vectorOutOfRange,
                    "collection \"\(collection)\": \(what) has a squared length of \(sumOfSquares), over \(Self.squaredNormMax): "
                        + "its \(self) scores would overflow float32",
                    collection: collection, field: "vector", value: String(sumOfSquares))
            }
            return vector
        }
        guard sumOfSquares > 0 else {
            throw .invalid(
                .zeroVector,
                "collection \"\(collection)\": \(what) is a zero vector, which has no direction under the cosine metric",
                collection: collection, field: "vector", value: "0")
        }
        let inverseNorm = 1 / sumOfSquares.squareRoot()
        return vector.map { Float(Double($0) * inverseNorm) }
    }
}
