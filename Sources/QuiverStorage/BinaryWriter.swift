import QuiverCore

/// Appends fixed-width integers and length-prefixed bytes to a byte array.
struct BinaryWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    /// Big-endian: keys sort by the integer's value.
    mutating func u32BE(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64BE(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }

    /// Little-endian: values, in the host order of every platform Quiver supports.
    mutating func u16LE(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32LE(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64LE(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }

    /// The floats' bytes, little-endian: one copy on a little-endian host (every platform Quiver
    /// supports), instead of four bytes at a time — on the write path this was 9% of a bulk load.
    mutating func floats(_ v: [Float]) {
        #if _endian(little)
        v.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for x in v { u32LE(x.bitPattern) }
        #endif
    }

    /// A u32 LE length, then the UTF-8 bytes.
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32LE(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
}

/// Reads what `BinaryWriter` wrote, throwing `corruption` on anything short or malformed.
struct BinaryReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0
    private let what: String

    init(_ bytes: UnsafeRawBufferPointer, what: String) {
        self.bytes = bytes
        self.what = what
    }

    var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ count: Int) throws(QuiverError) -> UnsafeRawBufferPointer {
        guard count >= 0, bytes.count - offset >= count else {
            throw .corruption("\(what): truncated at byte \(offset) (needed \(count) more)")
        }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    mutating func u8() throws(QuiverError) -> UInt8 { try take(1)[0] }
    mutating func u16LE() throws(QuiverError) -> UInt16 { UInt16(littleEndian: try take(2).loadUnaligned(as: UInt16.self)) }
    mutating func u32LE() throws(QuiverError) -> UInt32 { UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self)) }
    mutating func u64LE() throws(QuiverError) -> UInt64 { UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self)) }
    mutating func u32BE() throws(QuiverError) -> UInt32 { UInt32(bigEndian: try take(4).loadUnaligned(as: UInt32.self)) }
    mutating func u64BE() throws(QuiverError) -> UInt64 { UInt64(bigEndian: try take(8).loadUnaligned(as: UInt64.self)) }

    mutating func rest() throws(QuiverError) -> UnsafeRawBufferPointer { try take(bytes.count - offset) }

    mutating func string() throws(QuiverError) -> String {
        let count = Int(try u32LE())
        let raw = try take(count)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw .corruption("\(what): invalid UTF-8 at byte \(offset - count)")
        }
        return s
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` that keeps a typed `QuiverError` (the standard one is `rethrows`).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(QuiverError) -> R) throws(QuiverError) -> R {
        try withUnsafeBytes { raw in Result { () throws(QuiverError) -> R in try body(raw) } }.get()
    }
}
