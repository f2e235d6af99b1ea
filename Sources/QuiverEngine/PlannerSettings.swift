/// The search planner's cost constants (docs/filters.md, "The planner"). The defaults come from
/// `quiver-bench filter --calibrate`, which times each strategy forced at several selectivities;
/// they are settings so that an operator can move the switch points for their hardware.
public struct PlannerSettings: Sendable, Hashable {
    /// Cost of reading one row by its position (exact over chosen rows) relative to one row of a
    /// sequential IVF list scan. Higher values favour the list scan. Default 2. `0` always reads
    /// the passing rows of an indexed segment; `.infinity` never does (both only for measuring).
    public var gatherCost: Double
    /// Share of a growing or sealed segment's rows at or below which only its passing rows are
    /// read; above it the whole segment is scanned sequentially, skipping the others. Default 0.25.
    public var exactRowsShareMax: Double
    /// Passing rows the probed IVF lists of a segment should hold per hit wanted; nprobe is raised
    /// until they are expected to (for filters independent of where vectors lie). Default 4.
    public var passingPerHitMin: Int
    /// Probe an nprobe given exactly as given, never raised for k or a filter. Default `false`;
    /// only for measuring what the raising buys (`quiver-bench recall`).
    public var nprobeFixed: Bool
    /// A filtered walk over a calibrated segment stops when its lists left are expected to hold
    /// at most this many times the hits its recall may miss (`(1 − recall) × hits`). Above 1
    /// because the estimate is conservative (it counts rows better than the current k-th hit,
    /// not the final one). Default 3, from `quiver-bench recall`.
    public var walkMissMargin: Double
    /// The share of what a walk's stop rule adds to recall, as the calibration's walk tables
    /// measure it, that a walk's planned lists count on (0: plan by the plain curve). The tables
    /// replay the stop rule with exact counts on unfiltered neighbours; the walk estimates the
    /// counts and sees a filter's random share of the rows, and gets less than all of it
    /// (1,000,000 rows in eight segments, k = 10: `bucket` 10% at target 0.9 reached 0.868
    /// counting all of it, 0.930 counting none). Default 0.6, from `quiver-bench recall`.
    public var walkLift: Double

    public init(
        gatherCost: Double = 2, exactRowsShareMax: Double = 0.25, passingPerHitMin: Int = 4, nprobeFixed: Bool = false,
        walkMissMargin: Double = 3, walkLift: Double = 0.6
    ) {
        self.gatherCost = max(0, gatherCost)
        self.exactRowsShareMax = min(1, max(0, exactRowsShareMax))
        self.passingPerHitMin = max(1, passingPerHitMin)
        self.nprobeFixed = nprobeFixed
        self.walkMissMargin = max(0, walkMissMargin)
        self.walkLift = min(1, max(0, walkLift))
    }
}
