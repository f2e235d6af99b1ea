// The filtered list walk: an IVF scan of one segment under a filter that stops when the lists
// left should hold few of the k nearest passing rows, rather than after a fixed nprobe.
//
// A fixed nprobe works when a query's nearest lists hold its nearest passing rows. A filter that
// follows the clusters breaks that: for a query whose own neighbourhood fails the filter, the
// nearest passing rows lie in lists far down its coarse order, among many lists at about the
// same distance, and no count of lists fixed in advance fits every query (on 200,000 clustered
// rows, a filter passing 10%: a median of 194 lists for recall@10 0.95 for a query of that kind,
// 3 for one inside the passing clusters). So each query walks its lists nearest first and, once it
// has probed what the calibration asks for (`min_lists`, and as many passing rows as its first
// `planned_lists` lists hold at the filter's average share), estimates how many of the current
// top k the lists not yet probed would still improve on, and stops when that is at most
// `miss_budget`.
//
// The estimate models a row x of list l, seen from query q, by its key's mean and spread around
// the centroid c: squared L2 ‖q−x‖² = ‖q−c‖² + ‖x−c‖² − 2⟨q−c, x−c⟩, with the last term taken as
// normal with variance 4‖q−c‖²·E‖x−c‖²/d (isotropic residuals) and ‖x−c‖² with the list's own
// mean and variance; for inner product, −⟨q,x⟩ with
// mean −⟨q,c⟩ and variance ‖q‖²·E‖x−c‖²/d (the spreads are measured by a segment's first walk).
// A list then holds passing(l)·Φ((r − mean)/sd) rows
// better than the current k-th key r. The model is rough (real residuals are not isotropic);
// it only decides how far past the calibrated lists a query walks, and the planner's budget
// carries a margin for it. Lists are walked from a heap of all centroid keys, so a query can go
// past any fixed prefix, and a list that holds few passing rows costs a bit test per row and a
// distance per passing row, not a distance per row.

#include "quiver_faiss.h"
#include "shim_internal.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/invlists/InvertedLists.h>

using quiver::guarded;
using quiver::Heap;
using quiver::is_excluded;
using quiver::kernels;
using quiver::kRowsPerChunk;

namespace {

double normal_cdf(double z) { return 0.5 * std::erfc(-z * M_SQRT1_2); }

// Below this standardized margin a list's expected improvements are negligible (Φ < 3e-7).
constexpr double kNegligibleZ = -5;

void measure_lists_now(quiver_faiss_index* handle);

}  // namespace

void quiver::measure_lists(const quiver_faiss_index* const_handle) {
    // The spreads are a cache of the (immutable) rows, filled once under the handle's flag.
    auto* handle = const_cast<quiver_faiss_index*>(const_handle);
    std::call_once(handle->lists_measured, [handle] { measure_lists_now(handle); });
}

namespace {

void measure_lists_now(quiver_faiss_index* handle) {
    const faiss::IndexIVF* ivf = quiver::as_ivf(handle);
    if (ivf->ntotal == 0) return;
    const int64_t d = ivf->d;
    const bool flat = quiver::is_flat(ivf);
    std::vector<float> mean(ivf->nlist, 0), variance(ivf->nlist, 0);
    std::vector<float> centroid((size_t)d), decoded((size_t)d);
    for (size_t list = 0; list < ivf->nlist; list++) {
        const size_t n = ivf->invlists->list_size(list);
        if (n == 0) continue;
        ivf->quantizer->reconstruct((faiss::Index::idx_t)list, centroid.data());
        faiss::InvertedLists::ScopedCodes codes(ivf->invlists, list);
        double sum = 0, squares = 0;
        for (size_t j = 0; j < n; j++) {
            const float* x = decoded.data();
            if (flat) {
                x = reinterpret_cast<const float*>(codes.get()) + j * d;
            } else {
                ivf->reconstruct_from_offset((int64_t)list, (int64_t)j, decoded.data());
            }
            double r2 = 0;
            for (int64_t i = 0; i < d; i++) {
                const double delta = (double)x[i] - (double)centroid[i];
                r2 += delta * delta;
            }
            sum += r2;
            squares += r2 * r2;
        }
        const double m = sum / (double)n;
        mean[list] = (float)m;
        variance[list] = (float)std::max(0.0, squares / (double)n - m * m);
    }
    handle->list_spread_mean = std::move(mean);
    handle->list_spread_variance = std::move(variance);
}

}  // namespace

namespace {

// Every centroid's key for query x (squared L2, or minus the inner product: smaller is nearer).
void coarse_keys_of(const faiss::IndexFlat* quantizer, bool ip, const float* x, float* out) {
    const quiver::NyKernel kernel = ip ? kernels().ip : kernels().l2;
    const int64_t d = quantizer->d;
    const int64_t nlist = quantizer->ntotal;
    const float* centroids = quantizer->get_xb();
    float dist[kRowsPerChunk];
    for (int64_t i0 = 0; i0 < nlist; i0 += kRowsPerChunk) {
        const int64_t m = std::min<int64_t>(kRowsPerChunk, nlist - i0);
        kernel(x, centroids + i0 * d, (size_t)d, (size_t)m, dist);
        for (int64_t j = 0; j < m; j++) out[i0 + j] = ip ? -dist[j] : dist[j];
    }
}

const faiss::IndexFlat* flat_quantizer(const faiss::IndexIVF* ivf) {
    const auto* quantizer = dynamic_cast<const faiss::IndexFlat*>(ivf->quantizer);
    if (!quantizer) throw std::invalid_argument("the list walk needs a flat quantizer");
    return quantizer;
}

}  // namespace

extern "C" int32_t quiver_ivf_coarse_keys(const quiver_faiss_index* index, int32_t metric, int64_t nq, const float* x,
                                          float* keys, char* err, size_t err_len) {
    return guarded(err, err_len, [&] {
        const faiss::IndexIVF* ivf = quiver::as_ivf(index);
        const faiss::IndexFlat* quantizer = flat_quantizer(ivf);
        for (int64_t q = 0; q < nq; q++) {
            coarse_keys_of(quantizer, metric == QUIVER_METRIC_IP, x + q * ivf->d, keys + q * (int64_t)ivf->nlist);
        }
    });
}

extern "C" int32_t quiver_ivf_walk_scan(const quiver_faiss_index* index, int32_t metric, const float* queries,
                                        int64_t nq, const float* coarse_keys, const uint64_t* labels, int64_t loc_base,
                                        const uint64_t* excluded, const uint8_t* fewer, int64_t min_lists_all,
                                        int64_t planned_lists_all,
                                        double share, double miss_budget, double segment_hits, int64_t k,
                                        float* keys,
                                        uint64_t* out_labels, int64_t* locs, int64_t* sizes, int64_t* walked,
                                        char* err, size_t err_len) {
    return guarded(err, err_len, [&] {
        const faiss::IndexIVF* ivf = quiver::as_ivf(index);
        const faiss::IndexFlat* quantizer = flat_quantizer(ivf);
        const int64_t nlist = (int64_t)ivf->nlist;
        quiver::measure_lists(index);
        if ((int64_t)index->list_spread_mean.size() != nlist) {
            for (int64_t q = 0; q < nq; q++) walked[q] = 0;
            return;  // no rows
        }
        const bool ip = metric == QUIVER_METRIC_IP;
        const int64_t d = ivf->d;
        const faiss::InvertedLists* invlists = ivf->invlists;
        const bool flat = quiver::is_flat(ivf);
        const quiver::NyKernel kernel = ip ? kernels().ip : kernels().l2;
        // sq8 codes go through Quiver's kernels, other quantized codes through FAISS's scanner.
        std::unique_ptr<quiver::Sq8Scan> sq8 = flat ? nullptr : quiver::Sq8Scan::make(ivf, ip);
        std::unique_ptr<faiss::InvertedListScanner> scanner;
        if (!flat && !sq8) scanner.reset(ivf->get_InvertedListScanner(false, nullptr));
        const std::vector<float>& spread = index->list_spread_mean;
        const std::vector<float>& spread_variance = index->list_spread_variance;

        // Passing rows per list, counted the first time a query needs them (shared by the queries).
        std::vector<int32_t> passing_cache((size_t)nlist, -1);
        auto passing = [&](int64_t list) -> int64_t {
            int32_t& cached = passing_cache[(size_t)list];
            if (cached >= 0) return cached;
            const size_t n = invlists->list_size(list);
            int32_t count = (int32_t)n;
            if (excluded && n > 0) {
                faiss::InvertedLists::ScopedIds ids(invlists, list);
                count = 0;
                for (size_t j = 0; j < n; j++) count += is_excluded(excluded, ids.get()[j]) ? 0 : 1;
            }
            cached = count;
            return count;
        };

        // The rank, among this segment's hits, that stands for the final k-th (0: the k-th itself).
        const int64_t own_rank = segment_hits > 0 && segment_hits < (double)k ? (int64_t)std::ceil(segment_hits) : 0;
        std::vector<float> own_keys;
        own_keys.reserve((size_t)k);
        std::vector<float> coarse(coarse_keys ? 0 : (size_t)nlist);
        std::vector<std::pair<float, int64_t>> frontier;  // min-heap on coarse key: lists not yet walked
        frontier.reserve((size_t)nlist);
        auto farther = [](const std::pair<float, int64_t>& a, const std::pair<float, int64_t>& b) {
            return a.first > b.first || (a.first == b.first && a.second > b.second);
        };
        for (int64_t q = 0; q < nq; q++) {
            Heap heap{keys + q * k, out_labels + q * k, locs + q * k, sizes[q], k};
            const float* x = queries + q * d;
            if (scanner) scanner->set_query(x);
            if (sq8) sq8->set_query(x);
            double norm2 = 0;
            for (int64_t i = 0; i < d; i++) norm2 += (double)x[i] * x[i];
            const float* keys_q = coarse_keys ? coarse_keys + q * nlist : coarse.data();
            if (!coarse_keys) coarse_keys_of(quantizer, ip, x, coarse.data());
            frontier.clear();
            for (int64_t l = 0; l < nlist; l++) frontier.emplace_back(keys_q[l], l);
            // A query marked `fewer` aims one list lower (between two whole numbers of lists).
            const int64_t drop = fewer && fewer[q] ? 1 : 0;
            const int64_t min_lists = std::max<int64_t>(1, min_lists_all - drop);
            const int64_t planned_lists = std::max<int64_t>(1, planned_lists_all - drop);
            // Rows of the first `planned_lists` lists, from a partial order of a copy.
            std::vector<std::pair<float, int64_t>> first(frontier);
            const int64_t planned = std::min(planned_lists, nlist);
            std::nth_element(first.begin(), first.begin() + (planned - 1), first.end(),
                             [&](const auto& a, const auto& b) { return farther(b, a); });
            int64_t planned_rows = 0;
            for (int64_t p = 0; p < planned; p++) planned_rows += (int64_t)invlists->list_size(first[(size_t)p].second);
            const double needed = share * (double)planned_rows;
            std::make_heap(frontier.begin(), frontier.end(), farther);
            // Expected rows, in the lists not walked yet, better than the current k-th key, or
            // than this segment's ceil(segment_hits)-th key when that is nearer: the final top k
            // holds about segment_hits of this segment's rows, so the final k-th is about there.
            // (Walked first, a segment would otherwise count against its own k-th hit where it
            // contributes an eighth of the k, and walk far past what the recall needs.)
            auto misses = [&]() -> double {
                double r = heap.keys[0];
                if (own_rank > 0 && own_rank < heap.size) {
                    own_keys.clear();
                    for (int64_t i = 0; i < heap.size; i++) {
                        if ((heap.locs[i] >> 32) == (loc_base >> 32)) own_keys.push_back(heap.keys[i]);
                    }
                    if ((int64_t)own_keys.size() >= own_rank) {
                        std::nth_element(own_keys.begin(), own_keys.begin() + (own_rank - 1), own_keys.end());
                        r = std::min(r, (double)own_keys[(size_t)(own_rank - 1)]);
                    }
                }
                double total = 0;
                for (const auto& [key, list] : frontier) {
                    const size_t n = invlists->list_size(list);
                    if (n == 0) continue;
                    const double m = spread[(size_t)list];
                    double mean, var;
                    if (ip) {
                        mean = key;
                        var = norm2 * m / (double)d;
                    } else {
                        mean = (double)key + m;
                        var = 4 * std::max(0.0, (double)key) * m / (double)d + spread_variance[(size_t)list];
                    }
                    if (var <= 0) {
                        if (r >= mean) total += (double)passing(list);
                        continue;
                    }
                    const double z = (r - mean) / std::sqrt(var);
                    if (z < kNegligibleZ) continue;
                    const int64_t c = passing(list);
                    if (c > 0) total += (double)c * normal_cdf(z);
                    if (total > miss_budget) break;
                }
                return total;
            };
            int64_t seen = 0, p = 0, first_check = -1, next_check = 0;
            while (!frontier.empty()) {
                // The passing rows counted stop at the list count nearest `needed`: the next list
                // is probed when it brings the count closer (stopping only once past it walked
                // half a list too far on average, and overshot recall with a filter independent
                // of the vectors).
                const bool enough = (double)seen + 0.5 * (double)passing(frontier.front().second) >= needed;
                if (p >= min_lists && enough && p >= next_check && heap.size >= k) {
                    if (first_check < 0) first_check = p;
                    if (misses() <= miss_budget) break;
                    // Checked again after a quarter more lists: the walk goes at most that far
                    // past the point the estimate would have stopped it.
                    next_check = p + std::max<int64_t>(1, (p - first_check) / 4);
                }
                std::pop_heap(frontier.begin(), frontier.end(), farther);
                const auto [coarse_key, list] = frontier.back();
                frontier.pop_back();
                p++;
                const size_t n = invlists->list_size(list);
                if (n == 0) continue;
                const int64_t pass = passing(list);
                seen += pass;
                if (pass == 0) continue;
                faiss::InvertedLists::ScopedCodes codes(invlists, list);
                faiss::InvertedLists::ScopedIds ids(invlists, list);
                // FAISS's scanners take the quantizer's own value: a distance, or a similarity.
                if (scanner) scanner->set_list(list, ip ? -coarse_key : coarse_key);
                if (sq8) sq8->set_list(list, ip ? -coarse_key : coarse_key);
                // Few passing rows: a distance for each of them only.
                quiver::scan_list(heap, ip, kernel, x, d, codes.get(), ids.get(), n, flat, scanner.get(), sq8.get(),
                                  ivf->code_size,
                                  labels, loc_base, excluded, pass * 4 < (int64_t)n);
            }
            sizes[q] = heap.size;
            walked[q] = p;
        }
    });
}
