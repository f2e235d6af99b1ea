import QuiverCore

/// The ground truth for search tests: a dictionary of live records and a plain loop over all of
/// them, computing scores in `Double`. Shares no code with the engine's search path.
public struct BruteForceOracle: Sendable {
    public struct Hit: Sendable, Hashable {
        public var id: RecordID
        public var score: Double
    }

    public let metric: Metric
    public let dimension: Int
    /// The stored form of each live record's vector (normalized for cosine).
    public private(set) var vectors: [RecordID: [Float]] = [:]

    public init(metric: Metric, dimension: Int) {
        self.metric = metric
        self.dimension = dimension
    }

    public var count: Int { vectors.count }

    public mutating func upsert(_ id: RecordID, _ vector: [Float]) {
        vectors[id] = metric == .cosine ? Self.normalized(vector) : vector
    }

    public mutating func delete(_ id: RecordID) { vectors.removeValue(forKey: id) }

    public static func normalized(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return v.map { Float(Double($0) / norm) }
    }

    /// The score of a stored vector for a query as given (the query is normalized here for
    /// cosine).
    public func score(query: [Float], stored: [Float]) -> Double {
        let q = metric == .cosine ? Self.normalized(query) : query
        var sum = 0.0
        for i in 0..<dimension {
            switch metric {
            case .l2:
                let d = Double(q[i]) - Double(stored[i])
                sum += d * d
            case .ip, .cosine:
                sum += Double(q[i]) * Double(stored[i])
            }
        }
        return sum
    }

    /// Whether hit `a` ranks before hit `b`: better score first, then smaller id.
    public func ranksBefore(_ a: Hit, _ b: Hit) -> Bool {
        if a.score != b.score { return metric.higherIsBetter ? a.score > b.score : a.score < b.score }
        return a.id < b.id
    }

    /// Every live record ranked for the query (callers take the first k).
    public func ranking(_ query: [Float]) -> [Hit] {
        vectors.map { Hit(id: $0.key, score: score(query: query, stored: $0.value)) }.sorted(by: ranksBefore)
    }

    public func search(_ query: [Float], k: Int) -> [Hit] { Array(ranking(query).prefix(k)) }
}
