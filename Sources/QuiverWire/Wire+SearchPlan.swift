import QuiverCore
import QuiverProto

extension Quiver_V1_SearchExplain {
    public init(_ plan: SearchPlan) {
        self.init()
        filter = plan.filter ?? ""
        passingRows = UInt64(plan.passingRows)
        exactRetries = UInt32(plan.exactRetries)
        filterMicros = UInt64(plan.filterMicroseconds)
        recallTarget = plan.recallTarget ?? 0
        nprobeGiven = UInt32(clamping: plan.nprobeGiven ?? 0)
        segments = plan.segments.map { segment in
            .with {
                $0.segment = segment.id.rawValue
                $0.phase = segment.phase.rawValue
                $0.liveRows = UInt64(segment.liveRows)
                $0.passingRows = UInt64(segment.passingRows)
                $0.strategy = segment.strategy.rawValue
                $0.nprobe = UInt32(segment.nprobe ?? 0)
                $0.nlist = UInt32(segment.nlist ?? 0)
                $0.expectedRecall = segment.expectedRecall ?? 0
                $0.calibrationQueries = UInt32(clamping: segment.calibrationQueries ?? 0)
                $0.listsWalked = segment.listsWalked ?? 0
            }
        }
    }

    /// The domain plan; unknown phases and strategies (from a newer server) read as `sealed` and
    /// `exact`.
    public var domain: SearchPlan {
        SearchPlan(
            filter: filter.isEmpty ? nil : filter,
            segments: segments.map { segment in
                SearchPlan.Segment(
                    id: SegmentID(segment.segment), phase: SegmentPhase(rawValue: segment.phase) ?? .sealed,
                    liveRows: Int(segment.liveRows), passingRows: Int(segment.passingRows),
                    strategy: SearchPlan.Strategy(rawValue: segment.strategy) ?? .exact,
                    nprobe: segment.nprobe > 0 ? Int(segment.nprobe) : nil, nlist: segment.nlist > 0 ? Int(segment.nlist) : nil,
                    expectedRecall: segment.expectedRecall > 0 ? segment.expectedRecall : nil,
                    calibrationQueries: segment.calibrationQueries > 0 ? Int(segment.calibrationQueries) : nil,
                    listsWalked: segment.listsWalked > 0 ? segment.listsWalked : nil)
            },
            exactRetries: Int(exactRetries), filterMicroseconds: Int(filterMicros),
            recallTarget: recallTarget > 0 ? recallTarget : nil, nprobeGiven: nprobeGiven > 0 ? Int(nprobeGiven) : nil)
    }
}
