import QuiverCore
import QuiverProto

extension Quiver_V1_ShowSegmentResponse {
    public init(_ health: SegmentHealth) {
        self.init()
        info = Quiver_V1_SegmentInfo(health.info)
        tombstoneRatio = health.tombstoneRatio
        if let lists = health.lists {
            indexed = true
            self.lists = UInt32(lists.count)
            emptyLists = UInt32(lists.empty)
            smallestList = UInt64(lists.smallest)
            largestList = UInt64(lists.largest)
            meanList = lists.mean
            imbalance = lists.imbalance
            variation = lists.variation
        }
        if let recall = health.recall {
            recallChecked = true
            recallQueries = UInt32(recall.queries)
            recallK = UInt32(recall.k)
            recallNprobe = UInt32(recall.nprobe)
            self.recall = recall.recall
        }
    }

    /// The domain health.
    public var domain: SegmentHealth {
        SegmentHealth(
            info: info.domain, tombstoneRatio: tombstoneRatio,
            lists: indexed
                ? SegmentHealth.Lists(
                    count: Int(lists), empty: Int(emptyLists), smallest: Int(smallestList), largest: Int(largestList), mean: meanList,
                    imbalance: imbalance, variation: variation)
                : nil,
            recall: recallChecked
                ? SegmentHealth.RecallCheck(queries: Int(recallQueries), k: Int(recallK), nprobe: Int(recallNprobe), recall: recall)
                : nil)
    }
}
