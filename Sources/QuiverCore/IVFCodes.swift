/// What an IVF index stores per vector in its inverted lists.
public enum IVFCodes: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The float32 vectors themselves: exact distances within the probed lists. The default.
    case flat
    /// One byte per component (8-bit scalar quantizer on residuals): a quarter of the memory,
    /// approximate distances.
    case sq8
    /// Product quantizer with `m` sub-vectors of 8 bits: `m` bytes per vector; `m` must divide the
    /// dimension.
    case pq(m: Int)

    public var description: String {
        switch self {
        case .flat: "flat"
        case .sq8: "sq8"
        case .pq(let m): "pq\(m)"
        }
    }

    /// Parses `flat`, `sq8` or `pqM` (for example `pq16`).
    public init?(parsing text: String) {
        switch text {
        case "flat": self = .flat
        case "sq8": self = .sq8
        default:
            guard text.hasPrefix("pq"), let m = Int(text.dropFirst(2)), m > 0 else { return nil }
            self = .pq(m: m)
        }
    }
}
