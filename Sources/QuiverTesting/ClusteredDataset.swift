/// A seeded synthetic dataset shaped like real embeddings: points scattered around random cluster
/// centres, so that nearest neighbours are meaningful and IVF partitions have structure.
public struct ClusteredDataset: Sendable {
    public let dimension: Int
    public let centroids: [Float]
    public let spread: Float
    public let seed: UInt64

    /// - Parameters:
    ///   - clusters: number of cluster centres, drawn uniformly from [-1, 1]^dimension.
    ///   - spread: standard deviation of each coordinate around its centre.
    public init(dimension: Int, clusters: Int, spread: Float = 0.35, seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        self.dimension = dimension
        self.spread = spread
        self.seed = seed
        centroids = (0..<(clusters * dimension)).map { _ in Float.random(in: -1...1, using: &rng) }
    }

    public var clusterCount: Int { centroids.count / dimension }

    /// `count` points, row-major, from the generator stream `stream` (use different streams for
    /// the base set and the queries so they are distinct draws from the same distribution).
    public func points(count: Int, stream: UInt64) -> [Float] { labelledPoints(count: count, stream: stream).points }

    /// `points(count:stream:)` with the cluster each point was drawn around (for fields that
    /// follow the clusters).
    public func labelledPoints(count: Int, stream: UInt64) -> (points: [Float], clusters: [Int]) {
        var rng = SeededRandom(seed: seed &* 0x9E37_79B9 &+ stream &+ 1)
        var out = [Float](repeating: 0, count: count * dimension)
        var clusters = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let c = Int.random(in: 0..<clusterCount, using: &rng)
            clusters[i] = c
            for j in 0..<dimension {
                out[i * dimension + j] = centroids[c * dimension + j] + spread * Float(rng.gaussian())
            }
        }
        return (out, clusters)
    }
}
