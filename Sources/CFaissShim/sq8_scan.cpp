// Distances to 8-bit scalar-quantized codes (`sq8`), computed by Quiver's own kernels.
//
// Why: FAISS's list scanner decodes one code per virtual call (`distance_to_code`), and
// Debian's FAISS is built without AVX2, so an `sq8` list scanned through it ran slower than the
// `flat` list it is a quarter the size of. The codes are FAISS's (QT_8bit, trained per dimension,
// on residuals: what `quiver_ivf_train` builds), decoded as FAISS decodes them,
// x̂_j = vmin_j + (code_j + 0.5) · vdiff_j / 255, but folded into per-query and per-list tables
// so that the hot loop is one multiply-add per component:
//   squared L2 to the residual r = x − c:  Σ (a_j − s_j · code_j)²  with s_j = vdiff_j / 255,
//                                           a_j = r_j − vmin_j − s_j / 2 (per list);
//   inner product (FAISS adds the coarse similarity ⟨x, c⟩ for residual codes):
//       ⟨x, c⟩ + Σ x_j (vmin_j + s_j / 2) + Σ (x_j s_j) · code_j (the sum per query).
// The same values FAISS's scanner returns, up to the order of the float additions
// (IVFIndexTests compares the two). FAISS stays the trainer and the encoder.

#include "shim_internal.h"

#include <immintrin.h>

#include <faiss/IndexFlat.h>
#include <faiss/IndexScalarQuantizer.h>

namespace {

void sq8_l2_portable(const float* a, const float* s, const uint8_t* codes, size_t d, size_t n, float* out) {
    for (size_t i = 0; i < n; i++) {
        const uint8_t* c = codes + i * d;
        float acc = 0;
        for (size_t j = 0; j < d; j++) {
            const float t = a[j] - s[j] * (float)c[j];
            acc += t * t;
        }
        out[i] = acc;
    }
}

void sq8_ip_portable(const float* b, const float*, const uint8_t* codes, size_t d, size_t n, float* out) {
    for (size_t i = 0; i < n; i++) {
        const uint8_t* c = codes + i * d;
        float acc = 0;
        for (size_t j = 0; j < d; j++) acc += b[j] * (float)c[j];
        out[i] = acc;
    }
}

#if defined(__x86_64__)

__attribute__((target("avx2,fma"))) inline __m256 widen8(const uint8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    return _mm_cvtss_f32(sum);
}

template <bool IP>
__attribute__((target("avx2,fma"))) void sq8_avx2(const float* a, const float* s, const uint8_t* codes, size_t d,
                                                  size_t n, float* out) {
    for (size_t i = 0; i < n; i++) {
        const uint8_t* c = codes + i * d;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        size_t j = 0;
        for (; j + 16 <= d; j += 16) {
            const __m256 c0 = widen8(c + j), c1 = widen8(c + j + 8);
            if (IP) {
                acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), c0, acc0);
                acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), c1, acc1);
            } else {
                const __m256 t0 = _mm256_fnmadd_ps(_mm256_loadu_ps(s + j), c0, _mm256_loadu_ps(a + j));
                const __m256 t1 = _mm256_fnmadd_ps(_mm256_loadu_ps(s + j + 8), c1, _mm256_loadu_ps(a + j + 8));
                acc0 = _mm256_fmadd_ps(t0, t0, acc0);
                acc1 = _mm256_fmadd_ps(t1, t1, acc1);
            }
        }
        if (j + 8 <= d) {
            const __m256 c0 = widen8(c + j);
            if (IP) {
                acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), c0, acc0);
            } else {
                const __m256 t0 = _mm256_fnmadd_ps(_mm256_loadu_ps(s + j), c0, _mm256_loadu_ps(a + j));
                acc0 = _mm256_fmadd_ps(t0, t0, acc0);
            }
            j += 8;
        }
        float acc = hsum(_mm256_add_ps(acc0, acc1));
        for (; j < d; j++) {
            if (IP) {
                acc += a[j] * (float)c[j];
            } else {
                const float t = a[j] - s[j] * (float)c[j];
                acc += t * t;
            }
        }
        out[i] = acc;
    }
}

#endif

struct Sq8Kernels {
    quiver::Sq8Kernel l2;
    quiver::Sq8Kernel ip;
};

Sq8Kernels choose() {
#if defined(__x86_64__)
    // AVX-512 machines run the AVX2 kernel: a code row is 8 bits a component, so a 16-wide step
    // already widens just 16 bytes.
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {sq8_avx2<false>, sq8_avx2<true>};
#endif
    return {sq8_l2_portable, sq8_ip_portable};
}

}  // namespace

namespace quiver {

Sq8Kernel sq8_kernel(bool ip, bool portable) {
    static const Sq8Kernels chosen = choose();
    if (portable) return ip ? sq8_ip_portable : sq8_l2_portable;
    return ip ? chosen.ip : chosen.l2;
}

std::unique_ptr<Sq8Scan> Sq8Scan::make(const faiss::IndexIVF* ivf, bool ip) {
    const auto* sq = dynamic_cast<const faiss::IndexIVFScalarQuantizer*>(ivf);
    if (!sq || sq->sq.qtype != faiss::ScalarQuantizer::QT_8bit || sq->code_size != (size_t)ivf->d) return nullptr;
    if (sq->sq.trained.size() != 2 * (size_t)ivf->d) return nullptr;
    const auto* quantizer = dynamic_cast<const faiss::IndexFlat*>(ivf->quantizer);
    if (sq->by_residual && !ip && !quantizer) return nullptr;
    return std::unique_ptr<Sq8Scan>(new Sq8Scan(sq, quantizer, ip));
}

Sq8Scan::Sq8Scan(const faiss::IndexIVFScalarQuantizer* sq, const faiss::IndexFlat* quantizer, bool ip)
    : d_((size_t)sq->d), ip_(ip), residual_(sq->by_residual),
      centroids_(quantizer ? quantizer->get_xb() : nullptr), vmin_(sq->sq.trained.data()),
      step_(d_), table_(d_), kernel_(sq8_kernel(ip, false)) {
    const float* vdiff = sq->sq.trained.data() + d_;
    for (size_t j = 0; j < d_; j++) step_[j] = vdiff[j] / 255.0f;
}

void Sq8Scan::set_query(const float* x) {
    x_ = x;
    if (ip_) {
        double offset = 0;
        for (size_t j = 0; j < d_; j++) {
            table_[j] = x[j] * step_[j];
            offset += (double)x[j] * ((double)vmin_[j] + 0.5 * (double)step_[j]);
        }
        query_offset_ = (float)offset;
        list_offset_ = query_offset_;
    } else if (!residual_) {
        for (size_t j = 0; j < d_; j++) table_[j] = x[j] - vmin_[j] - 0.5f * step_[j];
    }
}

void Sq8Scan::set_list(int64_t list, float coarse) {
    if (ip_) {
        list_offset_ = residual_ ? query_offset_ + coarse : query_offset_;
    } else if (residual_) {
        const float* c = centroids_ + (size_t)list * d_;
        for (size_t j = 0; j < d_; j++) table_[j] = x_[j] - c[j] - vmin_[j] - 0.5f * step_[j];
    }
}

void Sq8Scan::distances(const uint8_t* codes, size_t n, float* out) const {
    kernel_(table_.data(), step_.data(), codes, d_, n, out);
    if (ip_) {
        for (size_t i = 0; i < n; i++) out[i] += list_offset_;
    }
}

}  // namespace quiver

extern "C" void quiver_sq8_kernel(int32_t metric, int32_t portable, const float* a, const float* s,
                                  const uint8_t* codes, int64_t d, int64_t n, float* out) {
    quiver::sq8_kernel(metric == QUIVER_METRIC_IP, portable != 0)(a, s, codes, (size_t)d, (size_t)n, out);
}
