// IVF indexes: FAISS trains, assigns, stores and serializes; Quiver scans.
//
// A collection trains one IVF "template" (coarse centroids plus the codes' parameters) and every
// segment is an empty clone of it filled with its own rows, so that all segments share the same
// centroids: a query's coarse assignment is computed once and serves every segment.
//
// The list scan is Quiver's rather than FAISS's search_preassigned: it pushes into the same
// (key, label) heaps as the exact scan, so results from IVF and exact segments merge into one
// top-k with ties broken by primary key, and deleted rows are skipped inside the scan (the role an
// IDSelector plays in FAISS's scan) so that k hits come back whenever k live rows are probed. Flat
// codes are the vectors themselves and go through Quiver's AVX-512/AVX2 kernels; SQ8 and PQ codes
// go through FAISS's InvertedListScanner::distance_to_code.

#include "quiver_faiss.h"
#include "shim_internal.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/clone_index.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/invlists/InvertedLists.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

using quiver::as_ivf;
using quiver::guarded;
using quiver::Heap;
using quiver::is_flat;
using quiver::is_excluded;
using quiver::kernels;

namespace {

using quiver::kRowsPerChunk;

// Records where every local id's code is, for scans of chosen rows (segments only: their ids are
// the local offsets 0..ntotal-1; anything else leaves the map empty).
void locate_rows(quiver_faiss_index* handle) {
    handle->row_locations.clear();
    const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(handle->index.get());
    if (!ivf || ivf->ntotal == 0) return;
    std::vector<int64_t> located((size_t)ivf->ntotal, -1);
    for (size_t list = 0; list < ivf->nlist; list++) {
        const size_t n = ivf->invlists->list_size(list);
        if (n == 0) continue;
        faiss::InvertedLists::ScopedIds ids(ivf->invlists, list);
        for (size_t offset = 0; offset < n; offset++) {
            const int64_t id = ids.get()[offset];
            if (id < 0 || id >= ivf->ntotal || located[id] >= 0) return;
            located[id] = (int64_t)list << 32 | (int64_t)offset;
        }
    }
    handle->row_locations = std::move(located);
}

// Rows decoded per step when codes are not the vectors themselves.
constexpr int64_t kDecodeChunkRows = 1024;

// Below this many queries the coarse assignment runs Quiver's kernels rather than FAISS's
// (which switches to sgemm at 20 queries, where its batching wins).
constexpr int64_t kCoarseKernelQueriesMax = 20;

}  // namespace

extern "C" int32_t quiver_ivf_train(int32_t metric, int64_t d, int64_t nlist, int32_t codes,
                                    int32_t pq_m, int32_t spherical, const float* x, int64_t n,
                                    int32_t niter, int64_t seed, quiver_faiss_index** out,
                                    char* err, size_t err_len) {
    *out = nullptr;
    return guarded(err, err_len, [&] {
        const faiss::MetricType faiss_metric =
            metric == QUIVER_METRIC_IP ? faiss::METRIC_INNER_PRODUCT : faiss::METRIC_L2;
        faiss::Index* quantizer = metric == QUIVER_METRIC_IP
                                      ? static_cast<faiss::Index*>(new faiss::IndexFlatIP(d))
                                      : static_cast<faiss::Index*>(new faiss::IndexFlatL2(d));
        std::unique_ptr<faiss::IndexIVF> ivf;
        switch (codes) {
            case QUIVER_CODES_FLAT:
                ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer, d, nlist, faiss_metric);
                break;
            case QUIVER_CODES_SQ8:
                ivf = std::make_unique<faiss::IndexIVFScalarQuantizer>(
                    quantizer, d, nlist, faiss::ScalarQuantizer::QT_8bit, faiss_metric, true);
                break;
            case QUIVER_CODES_PQ:
                ivf = std::make_unique<faiss::IndexIVFPQ>(quantizer, d, nlist, pq_m, 8, faiss_metric);
                break;
            default:
                delete quantizer;
                throw std::invalid_argument("unknown codes");
        }
        ivf->own_fields = true;
        ivf->cp.niter = niter;
        ivf->cp.seed = (int)seed;
        ivf->cp.spherical = spherical != 0;
        ivf->train(n, x);
        auto handle = std::make_unique<quiver_faiss_index>();
        handle->index = std::move(ivf);
        *out = handle.release();
    });
}

extern "C" int32_t quiver_ivf_clone_empty(const quiver_faiss_index* source, quiver_faiss_index** out,
                                          char* err, size_t err_len) {
    *out = nullptr;
    return guarded(err, err_len, [&] {
        const faiss::IndexIVF* ivf = as_ivf(source);
        auto handle = std::make_unique<quiver_faiss_index>();
        handle->index.reset(faiss::clone_index(ivf));
        handle->index->reset();
        *out = handle.release();
    });
}

extern "C" int32_t quiver_ivf_add(quiver_faiss_index* index, int64_t n, const float* x,
                                  const int64_t* ids, char* err, size_t err_len) {
    return guarded(err, err_len, [&] {
        faiss::IndexIVF* ivf = as_ivf(index);
        static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "idx_t is 64-bit");
        ivf->add_with_ids(n, x, reinterpret_cast<const faiss::Index::idx_t*>(ids));
        locate_rows(index);
    });
}

extern "C" int32_t quiver_ivf_assign(const quiver_faiss_index* index, int64_t nq, const float* x,
                                     int64_t nprobe, int64_t* lists, float* coarse_dis, char* err,
                                     size_t err_len) {
    return guarded(err, err_len, [&] {
        const faiss::IndexIVF* ivf = as_ivf(index);
        const auto* flat = dynamic_cast<const faiss::IndexFlat*>(ivf->quantizer);
        if (!flat || nq >= kCoarseKernelQueriesMax) {
            ivf->quantizer->search(nq, x, nprobe, coarse_dis, reinterpret_cast<faiss::Index::idx_t*>(lists));
            return;
        }
        // Few queries: the FAISS that Debian ships computes these distances with its non-SIMD
        // reference code, which costs more than the list scan itself at small nprobe. Quiver's
        // kernels give the same distances; the heap orders equal ones by list number.
        const bool ip = flat->metric_type == faiss::METRIC_INNER_PRODUCT;
        const quiver::NyKernel kernel = ip ? kernels().ip : kernels().l2;
        const int64_t d = flat->d;
        const int64_t nlist = flat->ntotal;
        const float* centroids = flat->get_xb();
        const int64_t probes = std::min<int64_t>(nprobe, nlist);
        std::vector<uint64_t> heap_lists((size_t)probes);
        std::vector<int64_t> unused((size_t)probes);
        float dist[kRowsPerChunk];
        for (int64_t q = 0; q < nq; q++) {
            float* keys = coarse_dis + q * nprobe;
            Heap heap{keys, heap_lists.data(), unused.data(), 0, probes};
            const float* xq = x + q * d;
            for (int64_t i0 = 0; i0 < nlist; i0 += kRowsPerChunk) {
                const int64_t m = std::min<int64_t>(kRowsPerChunk, nlist - i0);
                kernel(xq, centroids + i0 * d, (size_t)d, (size_t)m, dist);
                for (int64_t j = 0; j < m; j++) {
                    const float key = ip ? -dist[j] : dist[j];
                    if (heap.rejects(key)) continue;
                    if (heap.admits(key, (uint64_t)(i0 + j))) heap.push(key, (uint64_t)(i0 + j), 0);
                }
            }
            int64_t size = heap.size;
            quiver_topk_finalize(ip ? QUIVER_METRIC_IP : QUIVER_METRIC_L2, 1, probes, keys, heap_lists.data(),
                                 unused.data(), &size);
            for (int64_t p = 0; p < nprobe; p++) {
                lists[q * nprobe + p] = p < size ? (int64_t)heap_lists[p] : -1;
                if (p >= size) keys[p] = ip ? -INFINITY : INFINITY;
            }
        }
    });
}

extern "C" int32_t quiver_ivf_scan(const quiver_faiss_index* index, int32_t metric,
                                   const float* queries, int64_t nq, const int64_t* lists,
                                   const float* coarse_dis, int64_t nprobe, const uint64_t* labels,
                                   int64_t loc_base, const uint64_t* excluded, int64_t k,
                                   float* keys, uint64_t* out_labels, int64_t* locs, int64_t* sizes,
                                   char* err, size_t err_len) {
    return guarded(err, err_len, [&] {
        const faiss::IndexIVF* ivf = as_ivf(index);
        const bool ip = metric == QUIVER_METRIC_IP;
        const int64_t d = ivf->d;
        const faiss::InvertedLists* invlists = ivf->invlists;
        const bool flat = is_flat(ivf);
        const quiver::NyKernel kernel = ip ? kernels().ip : kernels().l2;
        // sq8 codes go through Quiver's kernels, other quantized codes through FAISS's scanner.
        std::unique_ptr<quiver::Sq8Scan> sq8 = flat ? nullptr : quiver::Sq8Scan::make(ivf, ip);
        std::unique_ptr<faiss::InvertedListScanner> scanner;
        if (!flat && !sq8) scanner.reset(ivf->get_InvertedListScanner(false, nullptr));
        for (int64_t q = 0; q < nq; q++) {
            Heap heap{keys + q * k, out_labels + q * k, locs + q * k, sizes[q], k};
            const float* x = queries + q * d;
            if (scanner) scanner->set_query(x);
            if (sq8) sq8->set_query(x);
            for (int64_t p = 0; p < nprobe; p++) {
                const int64_t list = lists[q * nprobe + p];
                if (list < 0) continue;
                const size_t n = invlists->list_size(list);
                if (n == 0) continue;
                faiss::InvertedLists::ScopedCodes codes(invlists, list);
                faiss::InvertedLists::ScopedIds ids(invlists, list);
                if (scanner) scanner->set_list(list, coarse_dis[q * nprobe + p]);
                if (sq8) sq8->set_list(list, coarse_dis[q * nprobe + p]);
                quiver::scan_list(heap, ip, kernel, x, d, codes.get(), ids.get(), n, flat, scanner.get(), sq8.get(),
                                  ivf->code_size,
                                  labels, loc_base, excluded, false);
            }
            sizes[q] = heap.size;
        }
    });
}

extern "C" int32_t quiver_ivf_scan_rows(const quiver_faiss_index* index, int32_t metric,
                                        const float* queries, int64_t nq, const int64_t* rows,
                                        int64_t nrows, const uint64_t* labels, int64_t loc_base,
                                        int64_t k, float* keys, uint64_t* out_labels, int64_t* locs,
                                        int64_t* sizes, char* err, size_t err_len) {
    return guarded(err, err_len, [&] {
        const faiss::IndexIVF* ivf = as_ivf(index);
        const int64_t d = ivf->d;
        const std::vector<int64_t>& located = index->row_locations;
        if ((int64_t)located.size() != ivf->ntotal) throw std::invalid_argument("the index's rows are not located");
        for (int64_t i = 0; i < nrows; i++) {
            if (rows[i] < 0 || rows[i] >= ivf->ntotal) throw std::out_of_range("row outside the index");
        }
        std::vector<Heap> heaps((size_t)nq);
        for (int64_t q = 0; q < nq; q++) heaps[q] = Heap{keys + q * k, out_labels + q * k, locs + q * k, sizes[q], k};
        const auto* array = dynamic_cast<const faiss::ArrayInvertedLists*>(ivf->invlists);
        if (is_flat(ivf) && array) {
            // Flat codes are the vectors: read them in place.
            quiver::scan_rows(metric, d, queries, nq, rows, nrows, labels, loc_base, heaps.data(), [&](int64_t i) {
                const int64_t at = located[rows[i]];
                return reinterpret_cast<const float*>(array->codes[at >> 32].data()) + (at & 0xFFFFFFFF) * d;
            });
        } else {
            // SQ8 and PQ: decode a chunk of rows once for all queries. The distance to the
            // decoded vector is the one the list scanner computes from the code.
            std::vector<float> decoded((size_t)(std::min(nrows, kDecodeChunkRows) * d));
            for (int64_t i0 = 0; i0 < nrows; i0 += kDecodeChunkRows) {
                const int64_t n = std::min(kDecodeChunkRows, nrows - i0);
                for (int64_t i = 0; i < n; i++) {
                    const int64_t at = located[rows[i0 + i]];
                    ivf->reconstruct_from_offset(at >> 32, at & 0xFFFFFFFF, decoded.data() + i * d);
                }
                quiver::scan_rows(metric, d, queries, nq, rows + i0, n, labels, loc_base, heaps.data(),
                                  [&](int64_t i) { return decoded.data() + i * d; });
            }
        }
        for (int64_t q = 0; q < nq; q++) sizes[q] = heaps[q].size;
    });
}

extern "C" int32_t quiver_faiss_search_ivf(const quiver_faiss_index* index, int64_t nq,
                                           const float* x, int64_t k, int64_t nprobe,
                                           float* distances, int64_t* labels, char* err,
                                           size_t err_len) {
    return guarded(err, err_len, [&] {
        const faiss::IndexIVF* ivf = as_ivf(index);
        faiss::SearchParametersIVF params;
        params.nprobe = nprobe;
        ivf->search(nq, x, k, distances, reinterpret_cast<faiss::Index::idx_t*>(labels), &params);
    });
}

extern "C" int32_t quiver_faiss_search_ivf_selected(const quiver_faiss_index* index, int64_t nq,
                                                    const float* x, int64_t k, int64_t nprobe,
                                                    const uint64_t* selected, int64_t selected_words,
                                                    float* distances, int64_t* labels, char* err,
                                                    size_t err_len) {
    return guarded(err, err_len, [&] {
        const faiss::IndexIVF* ivf = as_ivf(index);
        // 64-bit words in memory are FAISS's bytes in bit order on a little-endian machine.
        static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "bitmap layout");
        faiss::IDSelectorBitmap selector((size_t)selected_words * 8, reinterpret_cast<const uint8_t*>(selected));
        faiss::SearchParametersIVF params;
        params.nprobe = nprobe;
        params.sel = &selector;
        ivf->search(nq, x, k, distances, reinterpret_cast<faiss::Index::idx_t*>(labels), &params);
    });
}

extern "C" int64_t quiver_ivf_nlist(const quiver_faiss_index* index) {
    const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index->index.get());
    return ivf ? (int64_t)ivf->nlist : 0;
}

extern "C" void quiver_ivf_list_sizes(const quiver_faiss_index* index, int64_t* sizes) {
    const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index->index.get());
    if (!ivf) return;
    for (size_t l = 0; l < ivf->nlist; l++) sizes[l] = (int64_t)ivf->invlists->list_size(l);
}

extern "C" int32_t quiver_ivf_row_lists(const quiver_faiss_index* index, int32_t* lists) {
    const std::vector<int64_t>& located = index->row_locations;
    if (located.empty() || (int64_t)located.size() != index->index->ntotal) return -1;
    for (size_t row = 0; row < located.size(); row++) lists[row] = (int32_t)(located[row] >> 32);
    return 0;
}

extern "C" int64_t quiver_ivf_memory_bytes(const quiver_faiss_index* index) {
    const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index->index.get());
    if (!ivf) return 0;
    int64_t entries = 0;
    for (size_t l = 0; l < ivf->nlist; l++) entries += (int64_t)ivf->invlists->list_size(l);
    return entries * (int64_t)(ivf->code_size + sizeof(faiss::Index::idx_t)) +
           (int64_t)(ivf->nlist * ivf->d * sizeof(float)) +
           (int64_t)(index->row_locations.size() * sizeof(int64_t));
}

extern "C" int32_t quiver_faiss_serialize(const quiver_faiss_index* index, uint8_t** data,
                                          size_t* size, char* err, size_t err_len) {
    *data = nullptr;
    *size = 0;
    return guarded(err, err_len, [&] {
        faiss::VectorIOWriter writer;
        faiss::write_index(index->index.get(), &writer);
        auto* buffer = static_cast<uint8_t*>(std::malloc(std::max<size_t>(writer.data.size(), 1)));
        if (!buffer) throw std::bad_alloc();
        std::memcpy(buffer, writer.data.data(), writer.data.size());
        *data = buffer;
        *size = writer.data.size();
    });
}

extern "C" int32_t quiver_faiss_deserialize(const uint8_t* data, size_t size,
                                            quiver_faiss_index** out, char* err, size_t err_len) {
    *out = nullptr;
    return guarded(err, err_len, [&] {
        faiss::VectorIOReader reader;
        reader.data.assign(data, data + size);
        auto handle = std::make_unique<quiver_faiss_index>();
        handle->index.reset(faiss::read_index(&reader));
        locate_rows(handle.get());
        *out = handle.release();
    });
}

extern "C" void quiver_buffer_free(uint8_t* data) { std::free(data); }

namespace {

uint32_t crc32c_portable(uint32_t crc, const uint8_t* data, size_t n) {
    static uint32_t table[256];
    static bool ready = [] {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int j = 0; j < 8; j++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            table[i] = c;
        }
        return true;
    }();
    (void)ready;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(uint32_t crc, const uint8_t* data, size_t n) {
    uint64_t c = ~crc;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word;
        std::memcpy(&word, data + i, 8);
        c = _mm_crc32_u64(c, word);
    }
    uint32_t c32 = (uint32_t)c;
    for (; i < n; i++) c32 = _mm_crc32_u8(c32, data[i]);
    return ~c32;
}
#endif

}  // namespace

extern "C" uint32_t quiver_crc32c(uint32_t crc, const uint8_t* data, size_t n) {
#if defined(__x86_64__)
    static const bool sse42 = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("sse4.2") != 0;
    }();
    if (sse42) return crc32c_sse42(crc, data, n);
#endif
    return crc32c_portable(crc, data, n);
}
