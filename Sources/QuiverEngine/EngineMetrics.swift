import Metrics
import QuiverCore

/// The engine's metrics, through swift-metrics: no-ops until the application bootstraps a backend
/// (`quiver serve --metrics` bootstraps Prometheus). Names and units follow Prometheus's
/// conventions; docs/operations.md ("Metrics") lists them. Created on first use, which comes
/// after the bootstrap in a server.
enum EngineMetrics {
    static let rowsIngested = Counter(label: "quiver_rows_ingested_total")
    static let walSync = Metrics.Timer(label: "quiver_wal_sync_duration_seconds")
    static let indexBuild = Metrics.Timer(label: "quiver_index_build_duration_seconds")
    static let compaction = Metrics.Timer(label: "quiver_compaction_duration_seconds")
    static let exactRetries = Counter(label: "quiver_search_exact_retries_total")
    private static let searches: [Bool: Counter] = [
        true: Counter(label: "quiver_searches_total", dimensions: [("filtered", "true")]),
        false: Counter(label: "quiver_searches_total", dimensions: [("filtered", "false")]),
    ]
    private static let segmentScans: [SearchPlan.Strategy: Counter] = Dictionary(
        uniqueKeysWithValues: SearchPlan.Strategy.allCases.map {
            ($0, Counter(label: "quiver_segment_scans_total", dimensions: [("strategy", $0.rawValue)]))
        })

    /// One search request: counted by whether it had a filter, and each segment by its strategy.
    static func searched(_ plan: SearchPlan) {
        searches[plan.filter != nil]?.increment()
        for segment in plan.segments { segmentScans[segment.strategy]?.increment() }
        if plan.exactRetries > 0 { exactRetries.increment(by: plan.exactRetries) }
    }
}
