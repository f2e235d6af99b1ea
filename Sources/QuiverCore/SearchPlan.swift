/// How a search ran: the filter, and per segment the rows that passed it and the strategy the
/// planner chose. What `explain` returns (docs/filters.md, "The planner").
public struct SearchPlan: Sendable, Hashable {
    /// How one segment was searched.
    public enum Strategy: String, Sendable, Hashable, CaseIterable {
        /// Every live (and passing) row of a growing or sealed segment, in one sequential pass.
        case exact
        /// Only the passing rows, each read where it is stored: few rows passed.
        case exactRows = "exact-rows"
        /// The IVF lists nearest to each query (`nprobe` of them), passing rows only.
        case ivf
        /// No row of the segment is live and passing.
        case skipped
    }

    public struct Segment: Sendable, Hashable {
        public var id: SegmentID
        public var phase: SegmentPhase
        /// Live rows.
        public var liveRows: Int
        /// Live rows that pass the filter (all live rows without one).
        public var passingRows: Int
        public var strategy: Strategy
        /// Lists probed per query (IVF only).
        public var nprobe: Int?
        /// Lists of the segment's index (indexed segments only).
        public var nlist: Int?
        /// The recall the segment's calibration expects of its IVF scan at `nprobe`, at the depth
        /// the search needs of it (IVF with a calibration only).
        public var expectedRecall: Double?
        /// Sample queries of the segment's calibration (indexed segments that have one).
        public var calibrationQueries: Int?
        /// A filtered IVF scan that walked its lists: the lists each query probed, on average.
        public var listsWalked: Double?

        public init(
            id: SegmentID, phase: SegmentPhase, liveRows: Int, passingRows: Int, strategy: Strategy, nprobe: Int?, nlist: Int?,
            expectedRecall: Double? = nil, calibrationQueries: Int? = nil, listsWalked: Double? = nil
        ) {
            self.id = id
            self.phase = phase
            self.liveRows = liveRows
            self.passingRows = passingRows
            self.strategy = strategy
            self.nprobe = nprobe
            self.nlist = nlist
            self.expectedRecall = expectedRecall
            self.calibrationQueries = calibrationQueries
            self.listsWalked = listsWalked
        }
    }

    /// The filter in canonical form (docs/filters.md), `nil` without one.
    public var filter: String?
    public var segments: [Segment]
    /// Queries that the IVF lists gave fewer than k passing hits although k passing rows exist:
    /// each was searched again over the passing rows of every segment, exactly.
    public var exactRetries: Int
    /// Time spent evaluating the filter into row sets, all segments.
    public var filterMicroseconds: Int
    /// The recall@k the indexed segments' nprobe was chosen for (given, the collection's, or
    /// the default); `nil` when an nprobe was given instead.
    public var recallTarget: Double?
    /// The nprobe given (by the request or as the collection's default), which indexed segments
    /// probe at least; `nil` when a recall target was used.
    public var nprobeGiven: Int?

    public init(
        filter: String?, segments: [Segment], exactRetries: Int, filterMicroseconds: Int, recallTarget: Double? = nil,
        nprobeGiven: Int? = nil
    ) {
        self.filter = filter
        self.segments = segments
        self.exactRetries = exactRetries
        self.filterMicroseconds = filterMicroseconds
        self.recallTarget = recallTarget
        self.nprobeGiven = nprobeGiven
    }

    /// Live rows that pass the filter, over all segments.
    public var passingRows: Int { segments.reduce(0) { $0 + $1.passingRows } }
}
