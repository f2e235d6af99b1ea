// Exact top-k scan: Quiver's own kernels for brute-force search.
//
// Why not FAISS's knn_L2sqr / knn_inner_product: Debian's libfaiss is compiled for SSE2 only, and
// its heaps order equal scores arbitrarily, while Quiver promises ties broken by primary key. The
// distance kernels below are compiled for AVX-512 and AVX2+FMA with function target attributes
// and chosen once at run time, so the binary still runs on any x86-64. The structure follows
// FAISS's: per-query scans below a query-count threshold, sgemm tiles above it (the same
// ||x||² + ||y||² − 2⟨x,y⟩ expansion that FAISS uses). docs/benchmarks.md has the measurements.

#include "quiver_faiss.h"
#include "shim_internal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

extern "C" {
// BLAS, Fortran interface (Debian's libblas and OpenBLAS use 32-bit integers).
int sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
           const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
           const float* beta, float* c, const int* ldc);
}

namespace {

// ---- distance kernels: out[i] = dist(x, y_i) for ny rows ------------------------------------

void l2_ny_portable(const float* x, const float* y, size_t d, size_t ny, float* out) {
    for (size_t i = 0; i < ny; i++) {
        const float* yi = y + i * d;
        float acc = 0;
        for (size_t j = 0; j < d; j++) {
            float t = x[j] - yi[j];
            acc += t * t;
        }
        out[i] = acc;
    }
}

void ip_ny_portable(const float* x, const float* y, size_t d, size_t ny, float* out) {
    for (size_t i = 0; i < ny; i++) {
        const float* yi = y + i * d;
        float acc = 0;
        for (size_t j = 0; j < d; j++) acc += x[j] * yi[j];
        out[i] = acc;
    }
}

#if defined(__x86_64__)

__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 shuf = _mm_movehdup_ps(lo);
    __m128 sums = _mm_add_ps(lo, shuf);
    shuf = _mm_movehl_ps(shuf, sums);
    sums = _mm_add_ss(sums, shuf);
    return _mm_cvtss_f32(sums);
}

template <bool IP>
__attribute__((target("avx2,fma"))) void ny_avx2(
    const float* x, const float* y, size_t d, size_t ny, float* out) {
    for (size_t i = 0; i < ny; i++) {
        const float* yi = y + i * d;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        size_t j = 0;
        for (; j + 16 <= d; j += 16) {
            __m256 x0 = _mm256_loadu_ps(x + j), y0 = _mm256_loadu_ps(yi + j);
            __m256 x1 = _mm256_loadu_ps(x + j + 8), y1 = _mm256_loadu_ps(yi + j + 8);
            if (IP) {
                a0 = _mm256_fmadd_ps(x0, y0, a0);
                a1 = _mm256_fmadd_ps(x1, y1, a1);
            } else {
                __m256 t0 = _mm256_sub_ps(x0, y0), t1 = _mm256_sub_ps(x1, y1);
                a0 = _mm256_fmadd_ps(t0, t0, a0);
                a1 = _mm256_fmadd_ps(t1, t1, a1);
            }
        }
        for (; j + 8 <= d; j += 8) {
            __m256 x0 = _mm256_loadu_ps(x + j), y0 = _mm256_loadu_ps(yi + j);
            if (IP) {
                a0 = _mm256_fmadd_ps(x0, y0, a0);
            } else {
                __m256 t0 = _mm256_sub_ps(x0, y0);
                a0 = _mm256_fmadd_ps(t0, t0, a0);
            }
        }
        float acc = hsum256(_mm256_add_ps(a0, a1));
        for (; j < d; j++) {
            if (IP) {
                acc += x[j] * yi[j];
            } else {
                float t = x[j] - yi[j];
                acc += t * t;
            }
        }
        out[i] = acc;
    }
}

template <bool IP>
__attribute__((target("avx512f"))) void ny_avx512(
    const float* x, const float* y, size_t d, size_t ny, float* out) {
    const size_t tail = d % 16;
    const __mmask16 tail_mask = (__mmask16)((1u << tail) - 1u);
    for (size_t i = 0; i < ny; i++) {
        const float* yi = y + i * d;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        size_t j = 0;
        for (; j + 32 <= d; j += 32) {
            __m512 x0 = _mm512_loadu_ps(x + j), y0 = _mm512_loadu_ps(yi + j);
            __m512 x1 = _mm512_loadu_ps(x + j + 16), y1 = _mm512_loadu_ps(yi + j + 16);
            if (IP) {
                a0 = _mm512_fmadd_ps(x0, y0, a0);
                a1 = _mm512_fmadd_ps(x1, y1, a1);
            } else {
                __m512 t0 = _mm512_sub_ps(x0, y0), t1 = _mm512_sub_ps(x1, y1);
                a0 = _mm512_fmadd_ps(t0, t0, a0);
                a1 = _mm512_fmadd_ps(t1, t1, a1);
            }
        }
        for (; j + 16 <= d; j += 16) {
            __m512 x0 = _mm512_loadu_ps(x + j), y0 = _mm512_loadu_ps(yi + j);
            if (IP) {
                a0 = _mm512_fmadd_ps(x0, y0, a0);
            } else {
                __m512 t0 = _mm512_sub_ps(x0, y0);
                a0 = _mm512_fmadd_ps(t0, t0, a0);
            }
        }
        if (tail) {
            __m512 x0 = _mm512_maskz_loadu_ps(tail_mask, x + j);
            __m512 y0 = _mm512_maskz_loadu_ps(tail_mask, yi + j);
            if (IP) {
                a1 = _mm512_fmadd_ps(x0, y0, a1);
            } else {
                __m512 t0 = _mm512_sub_ps(x0, y0);
                a1 = _mm512_fmadd_ps(t0, t0, a1);
            }
        }
        out[i] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    }
}

#endif  // __x86_64__

using quiver::Kernels;
using quiver::NyKernel;

Kernels choose_kernels() {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return {ny_avx512<false>, ny_avx512<true>, 2};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return {ny_avx2<false>, ny_avx2<true>, 1};
#endif
    return {l2_ny_portable, ip_ny_portable, 0};
}

}  // namespace

namespace quiver {

const Kernels& kernels() {
    static const Kernels chosen = choose_kernels();
    return chosen;
}

}  // namespace quiver

namespace {

using quiver::Heap;
using quiver::kernels;

using quiver::is_excluded;

constexpr int64_t kBlasThreshold = 20;
constexpr int64_t kRowsPerChunk = 256;    // per-query path: distances computed per chunk
constexpr int64_t kBlasQueryTile = 256;   // sgemm path: queries per tile
constexpr int64_t kBlasBaseTile = 1024;   // sgemm path: base rows per tile

void scan_sequential(int32_t metric, int64_t d, const float* queries, int64_t nq, const float* base,
                     int64_t nb, const uint64_t* labels, int64_t loc_base,
                     const uint64_t* excluded, Heap* heaps) {
    const bool ip = metric == QUIVER_METRIC_IP;
    const NyKernel kernel = ip ? kernels().ip : kernels().l2;
    float dist[kRowsPerChunk];
    for (int64_t q = 0; q < nq; q++) {
        Heap& heap = heaps[q];
        const float* x = queries + q * d;
        for (int64_t i0 = 0; i0 < nb; i0 += kRowsPerChunk) {
            const int64_t n = std::min(kRowsPerChunk, nb - i0);
            kernel(x, base + i0 * d, (size_t)d, (size_t)n, dist);
            for (int64_t j = 0; j < n; j++) {
                const int64_t i = i0 + j;
                const float key = ip ? -dist[j] : dist[j];
                if (!heap.admits(key, labels[i]) || is_excluded(excluded, i)) continue;
                heap.push(key, labels[i], loc_base + i);
            }
        }
    }
}

void scan_blas(int32_t metric, int64_t d, const float* queries, int64_t nq, const float* base,
               int64_t nb, const uint64_t* labels, int64_t loc_base, const uint64_t* excluded,
               Heap* heaps) {
    const bool ip = metric == QUIVER_METRIC_IP;
    std::vector<float> q_norms, b_norms;
    if (!ip) {
        q_norms.resize(nq);
        for (int64_t q = 0; q < nq; q++) {
            const float* x = queries + q * d;
            float s = 0;
            for (int64_t j = 0; j < d; j++) s += x[j] * x[j];
            q_norms[q] = s;
        }
        b_norms.resize(kBlasBaseTile);
    }
    std::vector<float> block((size_t)kBlasQueryTile * kBlasBaseTile);
    for (int64_t b0 = 0; b0 < nb; b0 += kBlasBaseTile) {
        const int64_t nbt = std::min(kBlasBaseTile, nb - b0);
        if (!ip) {
            for (int64_t j = 0; j < nbt; j++) {
                const float* y = base + (b0 + j) * d;
                float s = 0;
                for (int64_t t = 0; t < d; t++) s += y[t] * y[t];
                b_norms[j] = s;
            }
        }
        for (int64_t q0 = 0; q0 < nq; q0 += kBlasQueryTile) {
            const int64_t nqt = std::min(kBlasQueryTile, nq - q0);
            // block[q][j] = <query q0+q, base b0+j>, row-major over j (column-major nbt × nqt).
            const int m = (int)nbt, n = (int)nqt, kk = (int)d, ld = (int)d, ldc = (int)nbt;
            const float one = 1, zero = 0;
            sgemm_("Transpose", "Not transpose", &m, &n, &kk, &one, base + b0 * d, &ld,
                   queries + q0 * d, &ld, &zero, block.data(), &ldc);
            for (int64_t q = 0; q < nqt; q++) {
                Heap& heap = heaps[q0 + q];
                const float* row = block.data() + q * nbt;
                for (int64_t j = 0; j < nbt; j++) {
                    const int64_t i = b0 + j;
                    float key;
                    if (ip) {
                        key = -row[j];
                    } else {
                        key = q_norms[q0 + q] + b_norms[j] - 2 * row[j];
                        if (key < 0) key = 0;  // rounding of the expansion
                    }
                    if (!heap.admits(key, labels[i]) || is_excluded(excluded, i)) continue;
                    heap.push(key, labels[i], loc_base + i);
                }
            }
        }
    }
}

using quiver::write_error;

}  // namespace

extern "C" int32_t quiver_simd_level(void) { return kernels().level; }

extern "C" int64_t quiver_topk_blas_threshold(void) { return kBlasThreshold; }

extern "C" int32_t quiver_topk_scan(int32_t metric, int64_t d, const float* queries, int64_t nq,
                                    const float* base, int64_t nb, const uint64_t* labels,
                                    int64_t loc_base, const uint64_t* excluded, int64_t k,
                                    float* keys, uint64_t* out_labels, int64_t* locs,
                                    int64_t* sizes, char* err, size_t err_len) {
    if (metric != QUIVER_METRIC_L2 && metric != QUIVER_METRIC_IP) {
        write_error(err, err_len, "unknown metric");
        return 1;
    }
    if (d <= 0 || nq < 0 || nb < 0 || k <= 0) {
        write_error(err, err_len, "invalid scan dimensions");
        return 1;
    }
    if (nq == 0 || nb == 0) return 0;
    try {
        std::vector<Heap> heaps((size_t)nq);
        for (int64_t q = 0; q < nq; q++) {
            heaps[q] = Heap{keys + q * k, out_labels + q * k, locs + q * k, sizes[q], k};
        }
        if (nq < kBlasThreshold) {
            scan_sequential(metric, d, queries, nq, base, nb, labels, loc_base, excluded, heaps.data());
        } else {
            scan_blas(metric, d, queries, nq, base, nb, labels, loc_base, excluded, heaps.data());
        }
        for (int64_t q = 0; q < nq; q++) sizes[q] = heaps[q].size;
        return 0;
    } catch (const std::exception& e) {
        write_error(err, err_len, e.what());
        return 1;
    }
}

extern "C" int32_t quiver_topk_scan_rows(int32_t metric, int64_t d, const float* queries, int64_t nq,
                                         const float* base, const int64_t* rows, int64_t nrows,
                                         const uint64_t* labels, int64_t loc_base, int64_t k,
                                         float* keys, uint64_t* out_labels, int64_t* locs,
                                         int64_t* sizes, char* err, size_t err_len) {
    if (metric != QUIVER_METRIC_L2 && metric != QUIVER_METRIC_IP) {
        write_error(err, err_len, "unknown metric");
        return 1;
    }
    if (d <= 0 || nq < 0 || nrows < 0 || k <= 0) {
        write_error(err, err_len, "invalid scan dimensions");
        return 1;
    }
    return quiver::guarded(err, err_len, [&] {
        std::vector<Heap> heaps((size_t)nq);
        for (int64_t q = 0; q < nq; q++) heaps[q] = Heap{keys + q * k, out_labels + q * k, locs + q * k, sizes[q], k};
        quiver::scan_rows(metric, d, queries, nq, rows, nrows, labels, loc_base, heaps.data(),
                          [&](int64_t i) { return base + rows[i] * d; });
        for (int64_t q = 0; q < nq; q++) sizes[q] = heaps[q].size;
    });
}

extern "C" void quiver_topk_finalize(int32_t metric, int64_t nq, int64_t k, float* keys,
                                     uint64_t* labels, int64_t* locs, const int64_t* sizes) {
    struct Hit {
        float key;
        uint64_t label;
        int64_t loc;
    };
    std::vector<Hit> hits;
    for (int64_t q = 0; q < nq; q++) {
        float* qk = keys + q * k;
        uint64_t* ql = labels + q * k;
        int64_t* qloc = locs + q * k;
        const int64_t n = sizes[q];
        hits.resize((size_t)n);
        for (int64_t i = 0; i < n; i++) hits[i] = {qk[i], ql[i], qloc[i]};
        std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
            return a.key < b.key || (a.key == b.key && a.label < b.label);
        });
        for (int64_t i = 0; i < n; i++) {
            qk[i] = metric == QUIVER_METRIC_IP ? -hits[i].key : hits[i].key;
            ql[i] = hits[i].label;
            qloc[i] = hits[i].loc;
        }
    }
}
