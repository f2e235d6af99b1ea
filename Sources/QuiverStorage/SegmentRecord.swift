import QuiverCore

/// An indexed segment as the manifest records it (meta family, JSON; docs/architecture.md,
/// "Segment manifest"). Growing and sealed segments are not recorded: their rows are whatever
/// live rows no indexed segment claims, and they are rebuilt in memory on open.
public struct SegmentRecord: Sendable, Hashable, Codable {
    public var id: SegmentID
    /// File name inside `<data>/segments/<collection id>/`.
    public var file: String
    /// CRC-32C of the file's stored payload (the file header repeats it).
    public var checksum: UInt32
    /// Rows in the index, deleted ones included.
    public var rows: Int
    /// The row-id ranges whose rows belong to the segment, ascending: they say which rows to
    /// rebuild from when the file is missing or corrupt.
    public var rowRanges: [RowRange]
    /// The template (quantizer generation) the segment was built from.
    public var template: UInt32
    public var createdAtMilliseconds: Int64
    public var indexedAtMilliseconds: Int64
    public var buildMilliseconds: Int64
    /// How the segment's recall grows with nprobe, measured when it was built; `nil` for segments
    /// written before calibrations existed (the planner then uses its fixed rules) and for segments
    /// of fewer than two rows.
    public var calibration: RecallCalibration?

    public init(
        id: SegmentID, file: String, checksum: UInt32, rows: Int, rowRanges: [RowRange], template: UInt32,
        createdAtMilliseconds: Int64, indexedAtMilliseconds: Int64, buildMilliseconds: Int64, calibration: RecallCalibration? = nil
    ) {
        self.id = id
        self.file = file
        self.checksum = checksum
        self.rows = rows
        self.rowRanges = rowRanges
        self.template = template
        self.createdAtMilliseconds = createdAtMilliseconds
        self.indexedAtMilliseconds = indexedAtMilliseconds
        self.buildMilliseconds = buildMilliseconds
        self.calibration = calibration
    }

    /// Whether a row id falls in the segment's ranges.
    public func contains(_ row: RowID) -> Bool {
        rowRanges.contains { $0.contains(row) }
    }
}

/// The generation of a collection's trained IVF template (centroids and code parameters), as the
/// manifest records it. The template itself is not stored on its own: every segment file of the
/// generation holds a trained index, and an emptied clone of any of them is the template.
public struct TemplateRecord: Sendable, Hashable, Codable {
    /// Increases with every retraining.
    public var generation: UInt32
    public var nlist: Int
    public var codes: IVFCodes
    public var trainedRows: Int
    public var trainedAtMilliseconds: Int64
    public var trainMilliseconds: Int64

    public init(
        generation: UInt32, nlist: Int, codes: IVFCodes, trainedRows: Int, trainedAtMilliseconds: Int64,
        trainMilliseconds: Int64
    ) {
        self.generation = generation
        self.nlist = nlist
        self.codes = codes
        self.trainedRows = trainedRows
        self.trainedAtMilliseconds = trainedAtMilliseconds
        self.trainMilliseconds = trainMilliseconds
    }
}
