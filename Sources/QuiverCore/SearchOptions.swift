/// What a search returns beside ids and scores.
public struct SearchOptions: Sendable, Hashable {
    /// Return each hit's stored vector. Default `false`.
    public var includeVectors: Bool
    /// Return these fields of each hit. Default none.
    public var fields: FieldSelection
    /// Coarse lists probed in indexed segments; `nil` uses the collection's default. Values above
    /// the collection's nlist probe every list (exact for Flat codes).
    public var nprobe: Int?
    /// The recall@k to reach with the fewest lists probed (`IndexSettings.recallTargetRange`),
    /// from each indexed segment's calibration; `nil` uses the collection's default. Ignored when
    /// `nprobe` is set. 1.0 probes every list of a segment (exact with Flat codes).
    public var recallTarget: Double?
    /// Only records that pass this filter expression (docs/filters.md); `nil` for all. At most
    /// `Limits.filterBytesMax` bytes.
    public var filter: String?

    public init(
        includeVectors: Bool = false, fields: FieldSelection = .none, nprobe: Int? = nil, recallTarget: Double? = nil, filter: String? = nil
    ) {
        self.includeVectors = includeVectors
        self.fields = fields
        self.nprobe = nprobe
        self.recallTarget = recallTarget
        self.filter = filter
    }
}
