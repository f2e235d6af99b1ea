#if canImport(Glibc)
import Glibc
#endif
import CLZ4
import Foundation
import QuiverCore

/// The on-disk container of an indexed segment (docs/architecture.md, "Index files"). Templates
/// have no file of their own: an emptied clone of any segment of a generation is its template.
///
///     offset size
///     0      8    magic "QVSEGv01"
///     8      4    flags, u32 LE: bit 0 = payload LZ4-compressed
///     12     4    reserved (0)
///     16     8    payload length, u64 LE (uncompressed)
///     24     8    stored length, u64 LE (bytes that follow the header)
///     32     4    CRC-32C of the stored bytes, u32 LE
///     36     4    CRC-32C of header bytes 0..<36, u32 LE
///     40     …    stored bytes (the payload, or its LZ4 block)
///
/// Payload: row count n (u64 LE), n row ids (u64 LE), n record ids (u64 LE), then the FAISS index
/// as `write_index` serialized it.
///
/// Files are written to a temporary name, fsynced, renamed into place and the directory fsynced,
/// so a crash leaves either the whole file or none. Every read verifies both checksums.
public struct SegmentFile: Sendable {
    public var rowIDs: [RowID]
    public var labels: [RecordID]
    public var index: IVFIndex

    public init(rowIDs: [RowID], labels: [RecordID], index: IVFIndex) {
        precondition(rowIDs.count == labels.count)
        self.rowIDs = rowIDs
        self.labels = labels
        self.index = index
    }

    static let magic = Array("QVSEGv01".utf8)
    static let headerSize = 40

    /// Writes the file atomically and returns the checksum of its stored bytes.
    public func write(to path: String, compress: Bool) throws(QuiverError) -> UInt32 {
        var payload: [UInt8] = []
        let faiss = try index.serialized()
        payload.reserveCapacity(8 + rowIDs.count * 16 + faiss.count)
        Self.append(UInt64(rowIDs.count), to: &payload)
        for id in rowIDs { Self.append(id.rawValue, to: &payload) }
        for label in labels { Self.append(label.rawValue, to: &payload) }
        payload.append(contentsOf: faiss)

        let stored = compress ? try Self.lz4Compress(payload) : payload
        let storedCRC = stored.withUnsafeBytes { CRC32C.checksum($0) }
        var header: [UInt8] = Self.magic
        Self.append(UInt32(compress ? 1 : 0), to: &header)
        Self.append(UInt32(0), to: &header)
        Self.append(UInt64(payload.count), to: &header)
        Self.append(UInt64(stored.count), to: &header)
        Self.append(storedCRC, to: &header)
        Self.append(header.withUnsafeBytes { CRC32C.checksum($0) }, to: &header)
        try Self.writeAtomically(header + stored, to: path)
        return storedCRC
    }

    /// Reads and verifies a file.
    ///
    /// - Throws: `corruption` for a short file, a bad magic, a checksum mismatch or an unreadable
    ///   index; `io` when the file cannot be read (a missing file included).
    public static func read(from path: String, dimension: Int) throws(QuiverError) -> (file: SegmentFile, checksum: UInt32) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .io("cannot read index file \(path)")
        }
        return try parse([UInt8](data), path: path, dimension: dimension)
    }

    /// Verifies and decodes the bytes of a segment file; `path` names it in errors.
    ///
    /// - Throws: `corruption` for anything that is not a whole, intact segment file of `dimension`.
    public static func parse(_ bytes: [UInt8], path: String, dimension: Int) throws(QuiverError) -> (file: SegmentFile, checksum: UInt32) {
        guard bytes.count >= headerSize, Array(bytes[0..<8]) == magic else {
            throw .corruption("\(path) is not a Quiver index file")
        }
        let headerCRC = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<36])) }
        guard headerCRC == load(UInt32.self, bytes, 36) else { throw .corruption("\(path): header checksum mismatch") }
        // Lengths are checked against the file before anything is sized by them: a header with a
        // valid checksum can still be wrong (a bug, or a file written by something else).
        let flags = load(UInt32.self, bytes, 8)
        let compressed = flags & 1 != 0
        let storedLength = load(UInt64.self, bytes, 24)
        let payloadLength = load(UInt64.self, bytes, 16)
        let storedCRC = load(UInt32.self, bytes, 32)
        guard flags & ~1 == 0 else { throw .corruption("\(path): unknown flags \(flags)") }
        guard storedLength == UInt64(bytes.count - headerSize) else {
            throw .corruption("\(path): \(bytes.count - headerSize) stored bytes, the header says \(storedLength)")
        }
        // LZ4 expands at most 255-fold.
        guard compressed ? payloadLength <= storedLength * 255 : payloadLength == storedLength else {
            throw .corruption("\(path): payload length \(payloadLength) does not fit \(storedLength) stored bytes")
        }
        let stored = Array(bytes[headerSize...])
        guard stored.withUnsafeBytes({ CRC32C.checksum($0) }) == storedCRC else {
            throw .corruption("\(path): checksum mismatch")
        }
        let payload = compressed ? try lz4Decompress(stored, length: Int(payloadLength)) : stored
        guard payload.count == Int(payloadLength), payload.count >= 8 else { throw .corruption("\(path): payload length mismatch") }
        let rowCount = load(UInt64.self, payload, 0)
        guard rowCount <= UInt64(payload.count - 8) / 16 else { throw .corruption("\(path): row count \(rowCount) does not fit") }
        let n = Int(rowCount)
        let rowIDs = (0..<n).map { RowID(load(UInt64.self, payload, 8 + $0 * 8)) }
        let labels = (0..<n).map { RecordID(load(UInt64.self, payload, 8 + n * 8 + $0 * 8)) }
        let index = try payload.withUnsafeBytes { raw in
            Result { () throws(QuiverError) in
                try IVFIndex.deserialize(UnsafeRawBufferPointer(rebasing: raw[(8 + n * 16)...]), dimension: dimension, rows: n)
            }
        }.get()
        guard index.count == n, index.dimension == dimension else {
            throw .corruption("\(path): the index holds \(index.count) vectors, the file lists \(n) rows")
        }
        return (SegmentFile(rowIDs: rowIDs, labels: labels, index: index), storedCRC)
    }

    // MARK: Helpers

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func load<T: FixedWidthInteger>(_ type: T.Type, _ bytes: [UInt8], _ offset: Int) -> T {
        bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    private static func lz4Compress(_ input: [UInt8]) throws(QuiverError) -> [UInt8] {
        guard input.count <= Int(LZ4_MAX_INPUT_SIZE) else {
            throw QuiverError(.internal, .internalFailure, "index file of \(input.count) bytes is too large for LZ4")
        }
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let written = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                LZ4_compress_default(
                    src.baseAddress?.assumingMemoryBound(to: CChar.self), dst.baseAddress?.assumingMemoryBound(to: CChar.self),
                    Int32(input.count), Int32(bound))
            }
        }
        guard written > 0 else { throw QuiverError(.internal, .internalFailure, "LZ4 compression failed") }
        return Array(output.prefix(Int(written)))
    }

    private static func lz4Decompress(_ input: [UInt8], length: Int) throws(QuiverError) -> [UInt8] {
        // The writer never compresses more than LZ4's input limit.
        guard length <= Int(LZ4_MAX_INPUT_SIZE), input.count <= Int(Int32.max) else {
            throw .corruption("LZ4 payload of \(length) bytes is larger than Quiver writes")
        }
        var output = [UInt8](repeating: 0, count: length)
        let read = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                LZ4_decompress_safe(
                    src.baseAddress?.assumingMemoryBound(to: CChar.self), dst.baseAddress?.assumingMemoryBound(to: CChar.self),
                    Int32(input.count), Int32(length))
            }
        }
        guard read == length else { throw .corruption("LZ4 payload does not decompress to \(length) bytes") }
        return output
    }

    /// An error of a file operation: `resourceExhausted`/`diskFull` when the disk is full (the
    /// build or compaction is retried later), `io` otherwise.
    static func fileError(_ what: String, errno code: Int32) -> QuiverError {
        let reason = String(cString: strerror(code))
        guard code == ENOSPC || code == EDQUOT else { return .io("\(what): \(reason)") }
        return QuiverError(.resourceExhausted, .diskFull, "\(what): \(reason)", field: "file", value: what)
    }

    /// temp file → write → fsync → rename → fsync the directory. On failure the temporary file is
    /// removed and the final name untouched.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(QuiverError) {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .io("create \(directory): \(error.localizedDescription)")
        }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fileError("open \(temporary)", errno: errno) }
        func fail(_ what: String, _ code: Int32) -> QuiverError {
            close(fd)
            unlink(temporary)
            return fileError("\(what) \(temporary)", errno: code)
        }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            guard written > 0 else { throw fail("write", written == 0 ? EIO : errno) }
            offset += written
        }
        guard fsync(fd) == 0 else { throw fail("fsync", errno) }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw fileError("rename \(temporary)", errno: code)
        }
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }
}
