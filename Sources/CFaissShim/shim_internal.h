// Internal to the shim: the distance kernels and the top-k heap shared by the exact scan
// (topk_scan.cpp) and the IVF list scan (ivf_index.cpp). Not part of the C surface.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include <faiss/Index.h>
#include <faiss/impl/FaissException.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <mutex>
#include <stdexcept>

#include "quiver_faiss.h"

namespace faiss {
struct IndexFlat;
struct IndexIVFScalarQuantizer;
}  // namespace faiss

/// The opaque handle of the C surface: one owned FAISS index.
struct quiver_faiss_index {
    std::unique_ptr<faiss::Index> index;
    /// IVF segments only: where local id i is stored, as list << 32 | offset in the list. Built
    /// once the rows are added (or read), so that a scan of chosen rows reaches each row's code
    /// directly. Empty when the ids are not 0..ntotal-1.
    std::vector<int64_t> row_locations;
    /// IVF segments only, per list: the mean and the variance of its rows' squared distance to
    /// the list's centroid (what the filtered walk's estimate of the hits left in a list needs;
    /// ivf_walk.cpp). Measured by the first walk (`lists_measured`), not when the index is read:
    /// a pass over every row that an open need not pay. A segment's rows never change after.
    std::vector<float> list_spread_mean;
    std::vector<float> list_spread_variance;
    std::once_flag lists_measured;
};

namespace quiver {

inline void write_error(char* err, size_t err_len, const char* message) {
    if (err && err_len > 0) std::snprintf(err, err_len, "%s", message);
}

/// Runs `body`, turning any C++ exception into a status and a message: none may unwind into Swift.
template <class Body>
int32_t guarded(char* err, size_t err_len, Body body) {
    try {
        body();
        return 0;
    } catch (const faiss::FaissException& e) {
        write_error(err, err_len, e.what());
        return 2;
    } catch (const std::exception& e) {
        write_error(err, err_len, e.what());
        return 1;
    }
}

/// out[i] = distance(x, y_i) for ny rows of d floats (squared L2, or inner product).
using NyKernel = void (*)(const float*, const float*, size_t, size_t, float*);

struct Kernels {
    NyKernel l2;
    NyKernel ip;
    int32_t level;
};

/// The kernels chosen for this CPU at first use.
const Kernels& kernels();

/// Rows per call of a distance kernel in the list scans.
constexpr int64_t kRowsPerChunk = 256;

/// out[i] for n rows of d one-byte codes, from a per-list table `a` and per-dimension steps `s`:
/// Σ (a_j − s_j·code_j)² (squared L2), or Σ a_j·code_j (inner product; `s` unused). sq8_scan.cpp.
using Sq8Kernel = void (*)(const float* a, const float* s, const uint8_t* codes, size_t d, size_t n, float* out);

/// The sq8 kernel for this CPU, or the portable one (the reference the tests compare against).
Sq8Kernel sq8_kernel(bool ip, bool portable);

/// FAISS's values for `sq8` codes (QT_8bit, as Quiver trains them) from Quiver's kernels: the
/// distance to the query for L2, the similarity for inner product (coarse term included, as FAISS's
/// list scanner returns them). Tables per query (`set_query`) and per list (`set_list`, with the
/// quantizer's value for the list); one per scanning thread. sq8_scan.cpp has the algebra.
class Sq8Scan {
public:
    /// nullptr unless `ivf` holds QT_8bit codes with a flat quantizer.
    static std::unique_ptr<Sq8Scan> make(const faiss::IndexIVF* ivf, bool ip);
    void set_query(const float* x);
    void set_list(int64_t list, float coarse);
    void distances(const uint8_t* codes, size_t n, float* out) const;

private:
    Sq8Scan(const faiss::IndexIVFScalarQuantizer* sq, const faiss::IndexFlat* quantizer, bool ip);
    size_t d_;
    bool ip_;
    bool residual_;
    const float* centroids_;
    const float* vmin_;
    std::vector<float> step_;
    std::vector<float> table_;
    Sq8Kernel kernel_;
    const float* x_ = nullptr;
    float query_offset_ = 0;
    float list_offset_ = 0;
};

/// Fills the handle's per-list spreads once (ivf_walk.cpp); safe from concurrent searches.
void measure_lists(const quiver_faiss_index* handle);

/// The handle's IVF index; throws when it is another kind.
inline faiss::IndexIVF* as_ivf(const quiver_faiss_index* handle) {
    auto* ivf = dynamic_cast<faiss::IndexIVF*>(handle->index.get());
    if (!ivf) throw std::invalid_argument("not an IVF index");
    return ivf;
}

inline bool is_flat(const faiss::IndexIVF* ivf) { return dynamic_cast<const faiss::IndexIVFFlat*>(ivf) != nullptr; }

/// A per-query max-heap on (key, label) over caller-owned arrays: the root is the worst hit. Keys
/// are "smaller is better"; equal keys are ordered by label.

struct Heap {
    float* keys;
    uint64_t* labels;
    int64_t* locs;
    int64_t size;
    int64_t k;

    static bool worse(float ka, uint64_t la, float kb, uint64_t lb) {
        return ka > kb || (ka == kb && la > lb);
    }

    // True when no label can bring `key` into the full heap: lets a scan reject most rows before
    // it loads their label (a random access into the segment's label array for IVF lists).
    bool rejects(float key) const { return size >= k && key > keys[0]; }

    // True when (key, label) would enter the heap.
    bool admits(float key, uint64_t label) const {
        return size < k || worse(keys[0], labels[0], key, label);
    }

    void push(float key, uint64_t label, int64_t loc) {
        int64_t i;
        if (size < k) {
            i = size++;
            // Sift up.
            while (i > 0) {
                int64_t parent = (i - 1) / 2;
                if (!worse(key, label, keys[parent], labels[parent])) break;
                keys[i] = keys[parent];
                labels[i] = labels[parent];
                locs[i] = locs[parent];
                i = parent;
            }
        } else {
            // Replace the root and sift down.
            i = 0;
            for (;;) {
                int64_t l = 2 * i + 1, r = l + 1, m = i;
                float mk = key;
                uint64_t ml = label;
                if (l < size && worse(keys[l], labels[l], mk, ml)) {
                    m = l;
                    mk = keys[l];
                    ml = labels[l];
                }
                if (r < size && worse(keys[r], labels[r], mk, ml)) m = r;
                if (m == i) break;
                keys[i] = keys[m];
                labels[i] = labels[m];
                locs[i] = locs[m];
                i = m;
            }
        }
        keys[i] = key;
        labels[i] = label;
        locs[i] = loc;
    }
};


/// Scans chosen rows for every query: `row(i)` gives a pointer to the d floats of rows[i] (valid
/// for the call). Rows are local offsets; row r gets label labels[r] and location loc_base + r.
template <class RowPointer>
void scan_rows(int32_t metric, int64_t d, const float* queries, int64_t nq, const int64_t* rows,
               int64_t nrows, const uint64_t* labels, int64_t loc_base, Heap* heaps, RowPointer row) {
    const bool ip = metric == QUIVER_METRIC_IP;
    const NyKernel kernel = ip ? kernels().ip : kernels().l2;
    for (int64_t q = 0; q < nq; q++) {
        Heap& heap = heaps[q];
        const float* x = queries + q * d;
        for (int64_t i = 0; i < nrows; i++) {
            float dist;
            kernel(x, row(i), (size_t)d, 1, &dist);
            const float key = ip ? -dist : dist;
            if (heap.rejects(key)) continue;
            const int64_t local = rows[i];
            if (!heap.admits(key, labels[local])) continue;
            heap.push(key, labels[local], loc_base + local);
        }
    }
}

inline bool is_excluded(const uint64_t* excluded, int64_t i) {
    return excluded && ((excluded[i >> 6] >> (i & 63)) & 1u);
}

/// One IVF list into one query's heap, skipping the rows set in `excluded`. Flat codes (the
/// vectors) go through `kernel` a chunk at a time, or one passing row at a time when
/// `gather` (few of the list's rows pass); sq8 codes through `sq8` the same way; other codes
/// through FAISS's list scanner. Both already given the query and this list (`set_list`). Shared
/// by the plain scan (ivf_index.cpp) and the filtered walk (ivf_walk.cpp).
inline void scan_list(Heap& heap, bool ip, NyKernel kernel, const float* x, int64_t d, const uint8_t* codes,
                      const int64_t* ids, size_t n, bool flat, faiss::InvertedListScanner* scanner, const Sq8Scan* sq8,
                      size_t code_size, const uint64_t* labels, int64_t loc_base, const uint64_t* excluded,
                      bool gather) {
    if (flat && gather) {
        const float* base = reinterpret_cast<const float*>(codes);
        for (size_t j = 0; j < n; j++) {
            const int64_t local = ids[j];
            if (is_excluded(excluded, local)) continue;
            float one;
            kernel(x, base + j * d, (size_t)d, 1, &one);
            const float key = ip ? -one : one;
            if (heap.rejects(key) || !heap.admits(key, labels[local])) continue;
            heap.push(key, labels[local], loc_base + local);
        }
    } else if (flat) {
        const float* base = reinterpret_cast<const float*>(codes);
        float dist[kRowsPerChunk];
        for (size_t i0 = 0; i0 < n; i0 += kRowsPerChunk) {
            const size_t m = std::min<size_t>(kRowsPerChunk, n - i0);
            kernel(x, base + i0 * d, (size_t)d, m, dist);
            for (size_t j = 0; j < m; j++) {
                const int64_t local = ids[i0 + j];
                const float key = ip ? -dist[j] : dist[j];
                if (heap.rejects(key)) continue;
                const uint64_t label = labels[local];
                if (!heap.admits(key, label) || is_excluded(excluded, local)) continue;
                heap.push(key, label, loc_base + local);
            }
        }
    } else if (sq8 && !gather) {
        float values[kRowsPerChunk];
        for (size_t i0 = 0; i0 < n; i0 += kRowsPerChunk) {
            const size_t m = std::min<size_t>(kRowsPerChunk, n - i0);
            sq8->distances(codes + i0 * code_size, m, values);
            for (size_t j = 0; j < m; j++) {
                const float key = ip ? -values[j] : values[j];
                if (heap.rejects(key)) continue;
                const int64_t local = ids[i0 + j];
                const uint64_t label = labels[local];
                if (!heap.admits(key, label) || is_excluded(excluded, local)) continue;
                heap.push(key, label, loc_base + local);
            }
        }
    } else {
        for (size_t j = 0; j < n; j++) {
            const int64_t local = ids[j];
            if (is_excluded(excluded, local)) continue;
            float score;
            if (sq8) {
                sq8->distances(codes + j * code_size, 1, &score);
            } else {
                score = scanner->distance_to_code(codes + j * code_size);
            }
            const float key = ip ? -score : score;
            if (heap.rejects(key)) continue;
            const uint64_t label = labels[local];
            if (!heap.admits(key, label)) continue;
            heap.push(key, label, loc_base + local);
        }
    }
}

}  // namespace quiver
