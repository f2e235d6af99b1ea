import Foundation
import QuiverCore

/// Readers for the vector file formats the CLI takes.
///
/// - `.fvecs` / `.ivecs` (the ANN benchmark format): per row an int32 LE count `d`, then `d`
///   float32 / int32 LE values.
/// - `.npy` (NumPy): a C-order array, 2-D `<f4` for vectors; 1-D `<i4`, `<u4`, `<i8` or `<u8` (or
///   2-D with one column) for ids.
enum VectorFiles {
    static func readVectors(_ path: String) throws -> (vectors: [[Float]], dimension: Int) {
        let data = try read(path)
        if path.hasSuffix(".fvecs") { return try fvecs(data, path: path) }
        if path.hasSuffix(".npy") {
            let array = try NumpyArray(data, path: path)
            guard array.descr == "<f4" else {
                throw CLIError("\(path): vectors must be float32 ('<f4'), the file holds '\(array.descr)'")
            }
            guard array.shape.count == 2 else { throw CLIError("\(path): vectors must be a 2-D array, shape is \(array.shape)") }
            let (rows, dimension) = (array.shape[0], array.shape[1])
            let floats = array.payload.withUnsafeBytes { Array($0.bindMemory(to: Float.self).prefix(rows * dimension)) }
            return (stride(from: 0, to: floats.count, by: max(dimension, 1)).map { Array(floats[$0..<($0 + dimension)]) }, dimension)
        }
        throw CLIError("\(path): unknown vector format; use .fvecs or .npy")
    }

    static func readIDs(_ path: String) throws -> [UInt64] {
        let data = try read(path)
        if path.hasSuffix(".ivecs") {
            var ids: [UInt64] = []
            var offset = 0
            var row = 0
            while offset < data.count {
                guard offset + 8 <= data.count, data.loadLE(Int32.self, at: offset) == 1 else {
                    throw CLIError("\(path): row \(row) is not a single int32 id")
                }
                let id = data.loadLE(Int32.self, at: offset + 4)
                guard id >= 0 else { throw CLIError("\(path): row \(row) has a negative id \(id)") }
                ids.append(UInt64(id))
                offset += 8
                row += 1
            }
            return ids
        }
        if path.hasSuffix(".npy") {
            let array = try NumpyArray(data, path: path)
            guard array.shape.count == 1 || (array.shape.count == 2 && array.shape[1] == 1) else {
                throw CLIError("\(path): ids must be a 1-D array, shape is \(array.shape)")
            }
            let count = array.shape[0]
            let payload = array.payload
            func values<T: FixedWidthInteger>(_ type: T.Type) throws -> [UInt64] {
                try (0..<count).map { i in
                    let v = payload.loadLE(T.self, at: i * MemoryLayout<T>.size)
                    guard v >= 0 else { throw CLIError("\(path): id \(i) is negative (\(v))") }
                    return UInt64(v)
                }
            }
            switch array.descr {
            case "<i4": return try values(Int32.self)
            case "<u4": return try values(UInt32.self)
            case "<i8": return try values(Int64.self)
            case "<u8": return try values(UInt64.self)
            default: throw CLIError("\(path): ids must be '<i4', '<u4', '<i8' or '<u8', the file holds '\(array.descr)'")
            }
        }
        throw CLIError("\(path): unknown id format; use .ivecs or .npy")
    }

    static func read(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
        return data
    }

    private static func fvecs(_ data: Data, path: String) throws -> (vectors: [[Float]], dimension: Int) {
        var vectors: [[Float]] = []
        var offset = 0
        var dimension = -1
        while offset < data.count {
            guard offset + 4 <= data.count else { throw CLIError("\(path): truncated at byte \(offset)") }
            let d = Int(data.loadLE(Int32.self, at: offset))
            guard d > 0, offset + 4 + d * 4 <= data.count else {
                throw CLIError("\(path): row \(vectors.count) claims \(d) values, the file is too short")
            }
            guard dimension < 0 || d == dimension else {
                throw CLIError("\(path): row \(vectors.count) has \(d) values, earlier rows have \(dimension)")
            }
            dimension = d
            vectors.append((0..<d).map { Float(bitPattern: data.loadLE(UInt32.self, at: offset + 4 + $0 * 4)) })
            offset += 4 + d * 4
        }
        return (vectors, max(dimension, 0))
    }
}

/// A parsed `.npy` header and its payload (format versions 1–3, C order only).
struct NumpyArray {
    let descr: String
    let shape: [Int]
    let payload: Data

    init(_ data: Data, path: String) throws {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard data.count >= 10, Array(data.prefix(6)) == magic else { throw CLIError("\(path): not a .npy file") }
        let major = data[data.startIndex + 6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(data.loadLE(UInt16.self, at: 8))
            headerStart = 10
        } else {
            guard data.count >= 12 else { throw CLIError("\(path): truncated .npy header") }
            headerLength = Int(data.loadLE(UInt32.self, at: 8))
            headerStart = 12
        }
        guard headerStart + headerLength <= data.count else { throw CLIError("\(path): truncated .npy header") }
        let header = String(decoding: data[(data.startIndex + headerStart)..<(data.startIndex + headerStart + headerLength)], as: UTF8.self)
        func value(_ key: String) -> Substring? {
            guard let range = header.range(of: "'\(key)':") else { return nil }
            return header[range.upperBound...].drop { $0 == " " }
        }
        guard let descr = value("descr")?.dropFirst().prefix(while: { $0 != "'" }) else {
            throw CLIError("\(path): .npy header has no descr")
        }
        guard value("fortran_order")?.hasPrefix("False") == true else {
            throw CLIError("\(path): Fortran-order arrays are not supported; save with np.ascontiguousarray")
        }
        guard let shapeText = value("shape")?.dropFirst().prefix(while: { $0 != ")" }) else {
            throw CLIError("\(path): .npy header has no shape")
        }
        let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        self.descr = String(descr)
        self.shape = shape
        payload = Data(data[(data.startIndex + headerStart + headerLength)...])
        let itemSize = Int(descr.dropFirst(2)) ?? 0
        let expected = shape.reduce(1, *) * itemSize
        guard payload.count >= expected else {
            throw CLIError("\(path): payload is \(payload.count) bytes, shape \(shape) of '\(descr)' needs \(expected)")
        }
    }
}

extension Data {
    /// Reads a little-endian integer at a byte offset from the start.
    func loadLE<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}
