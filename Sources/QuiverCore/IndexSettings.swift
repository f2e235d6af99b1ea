/// How a collection's sealed segments are indexed and searched. Set at creation; every field has
/// a default that suits most collections.
public struct IndexSettings: Sendable, Hashable, Codable {
    /// What the IVF lists store. Default `.flat` (exact distances within the probed lists).
    public var codes: IVFCodes
    /// Coarse lists; `nil` chooses from the data size when the quantizer is trained
    /// (`IndexSettings.nlist(forRows:)`).
    public var nlist: Int?
    /// Lists probed by a search that does not say (at least these, more where k or a filter
    /// need them); `nil`: searches that do not say aim at a recall instead (`recallTarget`).
    public var nprobe: Int?
    /// The recall@k a search that gives neither nprobe nor a target asks for, from each
    /// segment's calibration; `nil` is `recallTargetDefault`. Not with `nprobe`.
    public var recallTarget: Double?
    /// Rows at which the growing segment is sealed; `nil` uses about 64 MiB of vectors
    /// (`IndexSettings.segmentRows(dimension:)`).
    public var segmentRows: Int?
    /// A growing segment with rows is sealed once it is this old, so that a quiet collection
    /// still gets indexed. Default 600 seconds.
    public var sealAfterSeconds: Int
    /// LZ4-compress index files. Default off: Flat codes are floats and barely compress.
    public var compressFiles: Bool

    public init(
        codes: IVFCodes = .flat, nlist: Int? = nil, nprobe: Int? = nil, recallTarget: Double? = nil, segmentRows: Int? = nil,
        sealAfterSeconds: Int = 600, compressFiles: Bool = false
    ) {
        self.codes = codes
        self.nlist = nlist
        self.nprobe = nprobe
        self.recallTarget = recallTarget
        self.segmentRows = segmentRows
        self.sealAfterSeconds = sealAfterSeconds
        self.compressFiles = compressFiles
    }

    public static let nlistRange = 1...65_536
    public static let nprobeRange = 1...65_536
    /// Recall targets a search or a collection may ask for.
    public static let recallTargetRange = 0.5...1.0
    /// The recall@k of a search that names neither nprobe nor a target, in a collection that
    /// names neither (docs/filters.md, "Recall you can ask for").
    public static let recallTargetDefault = 0.95
    public static let segmentRowsRange = 256...10_000_000
    public static let sealAfterSecondsRange = 1...86_400

    /// The growing segment's row limit for a dimension: about 64 MiB of vectors, between 1,024
    /// and 1,048,576 rows (131,072 rows at dimension 128).
    public static func segmentRows(dimension: Int) -> Int {
        min(1 << 20, max(1_024, (64 << 20) / (dimension * MemoryLayout<Float>.stride)))
    }

    /// The number of coarse lists for a quantizer trained on `rows` vectors: about 4·√rows as a
    /// power of two, with at least 39 training points per list (FAISS's minimum for k-means),
    /// between 16 and 16,384.
    public static func nlist(forRows rows: Int) -> Int {
        let target = 4 * Double(rows).squareRoot()
        var nlist = 16
        while nlist * 2 <= Int(target), nlist * 2 * 39 <= rows, nlist < 16_384 { nlist *= 2 }
        return nlist
    }

    /// The lists probed by a search without an nprobe in a segment without a calibration (one
    /// written before calibrations existed, until it is rebuilt): nlist / 32, at least 8
    /// (docs/benchmarks.md has the recall this gives).
    public static func nprobeDefault(nlist: Int) -> Int { min(nlist, max(8, nlist / 32)) }

    public func effectiveSegmentRows(dimension: Int) -> Int { segmentRows ?? Self.segmentRows(dimension: dimension) }

    enum CodingKeys: String, CodingKey {
        case codes, nlist, nprobe, recallTarget, segmentRows, sealAfterSeconds, compressFiles
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        codes = try c.decodeIfPresent(IVFCodes.self, forKey: .codes) ?? .flat
        nlist = try c.decodeIfPresent(Int.self, forKey: .nlist)
        nprobe = try c.decodeIfPresent(Int.self, forKey: .nprobe)
        recallTarget = try c.decodeIfPresent(Double.self, forKey: .recallTarget)
        segmentRows = try c.decodeIfPresent(Int.self, forKey: .segmentRows)
        sealAfterSeconds = try c.decodeIfPresent(Int.self, forKey: .sealAfterSeconds) ?? 600
        compressFiles = try c.decodeIfPresent(Bool.self, forKey: .compressFiles) ?? false
    }
}
