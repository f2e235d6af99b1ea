import QuiverCore

/// Calls a shim function that follows the shim's convention (status 0 on success, otherwise a
/// message in the caller's buffer) and turns a failure into `QuiverError.internal`.
func shimCall(_ what: String, _ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws(QuiverError) {
    let capacity = 512
    var buffer = [CChar](repeating: 0, count: capacity)
    let status = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, capacity) }
    guard status == 0 else {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        throw QuiverError(.internal, .internalFailure, "\(what) failed: \(String(decoding: bytes, as: UTF8.self))")
    }
}
