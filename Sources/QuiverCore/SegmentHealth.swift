/// The health of one segment's index, for operators (`quiver segments show`).
public struct SegmentHealth: Sendable, Hashable {
    /// Sizes of the IVF lists of an indexed segment.
    public struct Lists: Sendable, Hashable {
        public var count: Int
        public var empty: Int
        public var smallest: Int
        public var largest: Int
        public var mean: Double
        /// Largest list over the mean list: 1 is perfectly balanced; a scan at a given nprobe costs
        /// up to this many times the balanced cost when the query falls in the big lists.
        public var imbalance: Double
        /// Standard deviation of the list sizes over their mean.
        public var variation: Double

        public init(count: Int, empty: Int, smallest: Int, largest: Int, mean: Double, imbalance: Double, variation: Double) {
            self.count = count
            self.empty = empty
            self.smallest = smallest
            self.largest = largest
            self.mean = mean
            self.imbalance = imbalance
            self.variation = variation
        }

        public init(sizes: [Int]) {
            count = sizes.count
            empty = sizes.filter { $0 == 0 }.count
            smallest = sizes.min() ?? 0
            largest = sizes.max() ?? 0
            let average = sizes.isEmpty ? 0 : Double(sizes.reduce(0, +)) / Double(sizes.count)
            mean = average
            imbalance = average > 0 ? Double(sizes.max() ?? 0) / average : 0
            let variance = sizes.isEmpty ? 0 : sizes.reduce(0.0) { $0 + (Double($1) - average) * (Double($1) - average) } / Double(sizes.count)
            variation = average > 0 ? variance.squareRoot() / average : 0
        }
    }

    /// The index's recall@k against exact search on the same segment, over stored vectors used
    /// as queries (`--check-recall`).
    public struct RecallCheck: Sendable, Hashable {
        public var queries: Int
        public var k: Int
        public var nprobe: Int
        public var recall: Double

        public init(queries: Int, k: Int, nprobe: Int, recall: Double) {
            self.queries = queries
            self.k = k
            self.nprobe = nprobe
            self.recall = recall
        }
    }

    public var info: SegmentInfo
    /// Deleted rows over rows (compaction rewrites a segment above 0.2).
    public var tombstoneRatio: Double
    public var lists: Lists?
    public var recall: RecallCheck?

    public init(info: SegmentInfo, tombstoneRatio: Double, lists: Lists?, recall: RecallCheck?) {
        self.info = info
        self.tombstoneRatio = tombstoneRatio
        self.lists = lists
        self.recall = recall
    }
}
