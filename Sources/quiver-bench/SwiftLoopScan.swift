/// The "plain Swift loop" contestant of `quiver-bench engine`: exact top-k by a straightforward
/// Swift scan with `SIMD8<Float>` accumulators, compiled for the default x86-64 target. It exists
/// to measure whether Quiver's C++ kernels and BLAS are worth their shim (docs/benchmarks.md).
struct SwiftLoopScan {
    let dimension: Int
    let base: [Float]

    /// l2 top-k ids of each query, by a per-query scan.
    func search(_ queries: [Float], k: Int) -> [[Int]] {
        let count = base.count / dimension
        return stride(from: 0, to: queries.count, by: dimension).map { q in
            var best: [(distance: Float, id: Int)] = []
            best.reserveCapacity(k + 1)
            base.withUnsafeBufferPointer { b in
                queries.withUnsafeBufferPointer { x in
                    for i in 0..<count {
                        var acc = SIMD8<Float>()
                        var j = 0
                        while j + 8 <= dimension {
                            let xs = UnsafeRawPointer(x.baseAddress! + q + j).loadUnaligned(as: SIMD8<Float>.self)
                            let ys = UnsafeRawPointer(b.baseAddress! + i * dimension + j).loadUnaligned(as: SIMD8<Float>.self)
                            let diff = xs - ys
                            acc += diff * diff
                            j += 8
                        }
                        var distance = acc.sum()
                        while j < dimension {
                            let diff = x[q + j] - b[i * dimension + j]
                            distance += diff * diff
                            j += 1
                        }
                        if best.count == k, distance >= best[k - 1].distance { continue }
                        let at = best.firstIndex { $0.distance > distance } ?? best.count
                        best.insert((distance, i), at: at)
                        if best.count > k { best.removeLast() }
                    }
                }
            }
            return best.map(\.id)
        }
    }
}
