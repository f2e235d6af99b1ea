import CFaissShim

/// Process-wide settings of the compute libraries.
public enum ComputeThreads {
    /// Sets the OpenMP threads that FAISS uses and, when OpenBLAS is the system BLAS, its threads.
    /// Call once at start-up, before the first search.
    ///
    /// OpenMP and OpenBLAS each default to one thread per core; together they oversubscribe the
    /// machine. Quiver runs searches on its own bounded pool, so it defaults both to 1 and lets
    /// the pool supply the parallelism (see docs/architecture.md, "Threads").
    public static func configure(openMP: Int, blas: Int) {
        quiver_set_threads(Int32(openMP), Int32(blas))
    }

    /// The distance kernel chosen for this CPU.
    public static var kernelName: String {
        switch quiver_simd_level() {
        case 2: "avx512"
        case 1: "avx2+fma"
        default: "portable"
        }
    }

    /// Query count from which the exact scan switches from per-query kernels to sgemm tiles.
    public static var blasQueryThreshold: Int { Int(quiver_topk_blas_threshold()) }
}
