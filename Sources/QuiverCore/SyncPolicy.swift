/// When a write is made durable relative to its acknowledgement. Chosen per database at open.
public enum SyncPolicy: Sendable, Hashable, CustomStringConvertible {
    /// The default. Every commit group is written to the WAL and fsynced before any of its writes
    /// is acknowledged; concurrent writers share one fsync (group commit without waiting).
    case always
    /// Group commit with a window: the committer waits up to `window` for more writers to arrive
    /// (or until `Self.groupRecordsTarget` records are pending), then writes and fsyncs them
    /// together. Still durable before acknowledging; trades latency for fewer fsyncs.
    case batch(window: Duration)
    /// Unsafe: the WAL is written but not fsynced. A write survives a process crash (the kernel has
    /// it) but not a power loss or kernel crash. For bulk loads that can be repeated.
    case none

    /// The default window of `batch`.
    public static let batchWindowDefault: Duration = .milliseconds(2)
    /// Under `batch`, the committer stops waiting once this many records are pending.
    public static let groupRecordsTarget = 8_192

    /// Whether commits under this policy fsync the WAL before acknowledging.
    public var fsyncsWAL: Bool {
        switch self {
        case .always, .batch: true
        case .none: false
        }
    }

    public var description: String {
        switch self {
        case .always: "always"
        case .batch(let window): "batch(\(window))"
        case .none: "none"
        }
    }

    /// Parses `always`, `batch`, `batch:5ms` or `none`.
    public init?(parsing text: String) {
        switch text {
        case "always": self = .always
        case "none": self = .none
        case "batch": self = .batch(window: SyncPolicy.batchWindowDefault)
        default:
            guard text.hasPrefix("batch:"), text.hasSuffix("ms"),
                let ms = Int(text.dropFirst("batch:".count).dropLast(2)), (1...1000).contains(ms)
            else { return nil }
            self = .batch(window: .milliseconds(ms))
        }
    }
}
