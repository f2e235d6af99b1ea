import Foundation
import QuiverCore
import QuiverIndex
import QuiverTesting
import Testing

/// Byte surgery on index files: every branch of `SegmentFile.read` gets a file damaged its way,
/// with the checksums fixed up where the branch lies behind them, and must answer `corruption`
/// (never trap, never allocate what a bad length says).
@Suite struct SegmentFileTests {
    static let dimension = 8

    /// A small trained segment written to `directory`; returns its path and bytes.
    static func writeSegment(in directory: TemporaryDirectory, compress: Bool) throws -> (path: String, bytes: [UInt8]) {
        var rng = SeededRandom(seed: 31)
        let n = 300
        let vectors = (0..<(n * dimension)).map { _ in Float.random(in: -1...1, using: &rng) }
        let template = try IVFIndex.train(
            innerProduct: false, dimension: dimension, nlist: 4, codes: .flat, spherical: false, vectors: vectors, iterations: 4, seed: 1)
        let index = try template.emptyClone()
        try vectors.withUnsafeBufferPointer { try index.add($0, ids: (0..<Int64(n)).map { $0 }) }
        let path = directory.path + "/0.ivf"
        _ = try SegmentFile(rowIDs: (0..<UInt64(n)).map { RowID($0 + 10) }, labels: (0..<UInt64(n)).map { RecordID($0 * 3) }, index: index)
            .write(to: path, compress: compress)
        return (path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    static func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { for (i, byte) in $0.enumerated() { bytes[offset + i] = byte } }
    }

    /// Recomputes both checksums, so that only the deliberate damage remains.
    static func fixChecksums(_ bytes: inout [UInt8]) {
        let stored = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[40...])) }
        put(stored, at: 32, in: &bytes)
        let header = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<36])) }
        put(header, at: 36, in: &bytes)
    }

    @Test(arguments: [false, true])
    func intactFileReadsBack(compress: Bool) throws {
        let dir = TemporaryDirectory()
        let (path, bytes) = try Self.writeSegment(in: dir, compress: compress)
        let (file, checksum) = try SegmentFile.read(from: path, dimension: Self.dimension)
        #expect(file.rowIDs.first == 10 && file.labels.last == RecordID(299 * 3) && file.index.count == 300)
        #expect(checksum == bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 32, as: UInt32.self)) })
    }

    @Test(arguments: [
        "truncated header", "bad magic", "header checksum", "payload checksum", "truncated payload", "unknown flags",
        "stored length", "payload length", "row count", "faiss bytes", "wrong dimension",
    ])
    func damagedFileIsCorruption(damage: String) throws {
        let dir = TemporaryDirectory()
        var (path, bytes) = try Self.writeSegment(in: dir, compress: false)
        var dimension = Self.dimension
        switch damage {
        case "truncated header": bytes = Array(bytes.prefix(30))
        case "bad magic": bytes[3] ^= 0x20
        case "header checksum": bytes[20] ^= 0x01
        case "payload checksum": bytes[bytes.count / 2] ^= 0x40
        case "truncated payload":
            bytes.removeLast(100)
            Self.fixChecksums(&bytes)
        case "unknown flags":
            Self.put(UInt32(6), at: 8, in: &bytes)
            Self.fixChecksums(&bytes)
        case "stored length":
            Self.put(UInt64.max, at: 24, in: &bytes)
            Self.fixChecksums(&bytes)
        case "payload length":
            Self.put(UInt64.max - 7, at: 16, in: &bytes)
            Self.fixChecksums(&bytes)
        case "row count":
            Self.put(UInt64.max / 2, at: 40, in: &bytes)
            Self.fixChecksums(&bytes)
        case "faiss bytes":
            for i in (40 + 8 + 300 * 16)..<(40 + 8 + 300 * 16 + 16) { bytes[i] = 0xEE }
            Self.fixChecksums(&bytes)
        default:
            dimension = Self.dimension * 2
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try SegmentFile.read(from: path, dimension: dimension)
        } throws: { error in
            (error as? QuiverError)?.code == .corruption
        }
    }

    @Test(arguments: ["payload length", "lz4 block"])
    func damagedCompressedFileIsCorruption(damage: String) throws {
        let dir = TemporaryDirectory()
        var (path, bytes) = try Self.writeSegment(in: dir, compress: true)
        if damage == "payload length" {
            // Within the 255-fold bound but not what the block decompresses to.
            Self.put(UInt64(bytes.count - 40) * 200, at: 16, in: &bytes)
        } else {
            for i in 48..<64 { bytes[i] = 0xFF }
        }
        Self.fixChecksums(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try SegmentFile.read(from: path, dimension: Self.dimension)
        } throws: { error in
            (error as? QuiverError)?.code == .corruption
        }
    }

    @Test func missingFileIsIO() throws {
        let dir = TemporaryDirectory()
        #expect {
            _ = try SegmentFile.read(from: dir.path + "/absent.ivf", dimension: Self.dimension)
        } throws: { error in
            (error as? QuiverError)?.code == .io
        }
    }
}
