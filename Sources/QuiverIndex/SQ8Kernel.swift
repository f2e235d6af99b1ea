import CFaissShim

/// The kernel that IVF scans of `sq8` codes run (sq8_scan.cpp), exposed so that tests can hold
/// it to a reference: over `rows` codes of `dimension` bytes, Σ (a_j − s_j·code_j)² for L2, or
/// Σ a_j·code_j for inner product (`steps` unused).
public enum SQ8Kernel {
    /// `portable`: the portable kernel rather than the one chosen for this CPU (AVX2+FMA where
    /// the CPU has it).
    public static func values(
        innerProduct: Bool, portable: Bool, table: [Float], steps: [Float], codes: [UInt8], dimension: Int
    ) -> [Float] {
        precondition(dimension > 0 && table.count == dimension && steps.count == dimension && codes.count % dimension == 0)
        let rows = codes.count / dimension
        var out = [Float](repeating: 0, count: rows)
        quiver_sq8_kernel(
            innerProduct ? QUIVER_METRIC_IP : QUIVER_METRIC_L2, portable ? 1 : 0, table, steps, codes, Int64(dimension), Int64(rows),
            &out)
        return out
    }
}
