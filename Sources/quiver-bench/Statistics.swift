/// Order statistics for benchmark samples.
enum Percentile {
    /// The `p`-th percentile (0–100) by nearest rank; `nan` for no samples.
    static func of(_ samples: [Double], _ p: Double) -> Double {
        guard !samples.isEmpty else { return .nan }
        let sorted = samples.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    static func median(_ samples: [Double]) -> Double { of(samples, 50) }
}
