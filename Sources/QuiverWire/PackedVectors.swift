import Foundation
import QuiverCore

#if _endian(big)
#error("Quiver's wire format is little-endian float32; big-endian hosts would need byte swapping")
#endif

/// Vectors on the wire: packed little-endian float32 in a protobuf `bytes` field.
///
/// `bytes` rather than `repeated float` (docs/protocol.md, "Vectors"): the encoded size is the
/// same, and clients in other languages hand over a buffer instead of building a list of floats
/// (20 times faster to encode in Python); in Swift `repeated float` would be about 0.3 µs per
/// vector cheaper (`quiver-bench wire`).
public enum PackedVectors {
    public static func encode(_ vector: [Float]) -> Data {
        vector.withUnsafeBytes { Data($0) }
    }

    public static func encode(_ vectors: [[Float]]) -> Data {
        var data = Data(capacity: vectors.reduce(0) { $0 + $1.count } * 4)
        for vector in vectors { vector.withUnsafeBytes { data.append(contentsOf: $0) } }
        return data
    }

    /// Decodes one packed vector. `what` names it in the error, and is only spelled then: this
    /// runs for every record of an upsert.
    ///
    /// - Throws: `invalidArgument` / `dimensionMismatch` when the byte count is not a multiple of 4.
    public static func decode(_ data: Data, what: @autoclosure () -> String, collection: String) throws(QuiverError) -> [Float] {
        guard data.count % 4 == 0 else {
            throw .invalid(
                .dimensionMismatch,
                "collection \"\(collection)\": \(what()) is \(data.count) bytes, not a whole number of float32 values",
                collection: collection, field: "vector", value: String(data.count))
        }
        return floats(data)
    }

    /// Decodes `count` vectors of `dimension` floats packed back to back.
    ///
    /// - Throws: `invalidArgument` / `dimensionMismatch` unless the byte count is a non-zero
    ///   multiple of `dimension × 4`.
    public static func decodeRows(
        _ data: Data, dimension: Int, what: String, collection: String
    ) throws(QuiverError) -> [[Float]] {
        let rowBytes = dimension * 4
        guard !data.isEmpty, data.count % rowBytes == 0 else {
            throw .invalid(
                .dimensionMismatch,
                "collection \"\(collection)\": \(what) are \(data.count) bytes, not a non-zero multiple of dimension \(dimension) × 4",
                collection: collection, field: "queries", value: String(data.count))
        }
        let all = floats(data)
        return stride(from: 0, to: all.count, by: dimension).map { Array(all[$0..<($0 + dimension)]) }
    }

    /// One memcpy: the bytes may sit unaligned inside the message buffer, so they are copied,
    /// not reinterpreted. (`Data.copyBytes(to:)` took three times as long per vector.)
    private static func floats(_ data: Data) -> [Float] {
        [Float](unsafeUninitializedCapacity: data.count / 4) { buffer, count in
            data.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
            count = data.count / 4
        }
    }
}
