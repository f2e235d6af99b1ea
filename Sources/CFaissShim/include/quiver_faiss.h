/*
 * quiver_faiss.h — the plain C surface of Quiver's C++ shim.
 *
 * Three parts:
 *   - Quiver's exact top-k scan (`quiver_topk_*`): distance kernels compiled for the CPU it runs
 *     on (AVX-512 / AVX2+FMA chosen at run time, portable C++ otherwise), BLAS sgemm for query
 *     batches, and per-query heaps that break score ties by label (the record's primary key).
 *   - IVF segments (`quiver_ivf_*`): training a collection's template, empty clones, adding rows,
 *     the coarse assignment, and scanning the assigned lists (or chosen rows) into the same heaps.
 *   - Handles over FAISS indexes (`quiver_faiss_*`): flat indexes and plain FAISS IVF search, the
 *     benchmarks' baselines; serialization of the IVF indexes into segment files.
 *
 * Conventions: every fallible function returns 0 on success and a non-zero status on failure,
 * with a NUL-terminated message written into the caller's `err` buffer (never a thread-local, which
 * a Swift `await` could cross). Pointers are borrowed for the duration of the call only.
 */
#ifndef QUIVER_FAISS_H
#define QUIVER_FAISS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Metric of a scan or index: squared L2 distance (smaller is better) or inner product (larger is
 * better). Cosine is inner product over normalized vectors and is handled above this layer. */
#define QUIVER_METRIC_L2 0
#define QUIVER_METRIC_IP 1

/* ---- threads and CPU ---------------------------------------------------------------------- */

/* Sets the OpenMP thread count (FAISS) and, when the loaded BLAS is OpenBLAS, its thread count.
 * Call once at start-up, before any search. Non-positive values leave a setting unchanged. */
void quiver_set_threads(int32_t omp_threads, int32_t blas_threads);

/* The distance kernel chosen for this CPU: 0 portable, 1 AVX2+FMA, 2 AVX-512. */
int32_t quiver_simd_level(void);

/* The SQ8 kernel the IVF scans use (`portable` 0: the one chosen for this CPU; 1: the portable
 * one), over n rows of d one-byte codes: out[i] = sum_j (a[j] - s[j]*codes[i*d+j])^2 (L2), or
 * sum_j a[j]*codes[i*d+j] (IP; s unused). For tests of the kernels against a reference. */
void quiver_sq8_kernel(int32_t metric, int32_t portable, const float* a, const float* s, const uint8_t* codes,
                       int64_t d, int64_t n, float* out);

/* ---- exact top-k ------------------------------------------------------------------------- */

/* A top-k accumulator for `nq` queries is four caller-owned arrays:
 *   keys[nq*k], labels[nq*k], locs[nq*k], sizes[nq] (all sizes start at 0).
 * Internally keys are "smaller is better" (L2 distance, or the negated inner product), and each
 * query's slice is a max-heap on (key, label), so the root is the current worst hit.
 * `quiver_topk_finalize` turns each slice into best-first order and restores the metric's score. */

/* Scans `nb` base vectors (row-major, `d` floats each) for every query and merges the results into
 * the accumulator. Row i carries label `labels[i]` (ties are broken by smaller label) and location
 * `loc_base + i`. A row whose bit is set in `excluded` (bit i of word i/64; may be NULL) is skipped.
 * Queries are processed one by one for nq < `quiver_topk_blas_threshold()`, with sgemm tiles
 * otherwise. Returns 0, or non-zero with a message in `err`. */
int32_t quiver_topk_scan(
    int32_t metric, int64_t d,
    const float* queries, int64_t nq,
    const float* base, int64_t nb,
    const uint64_t* labels, int64_t loc_base, const uint64_t* excluded,
    int64_t k, float* keys, uint64_t* out_labels, int64_t* locs, int64_t* sizes,
    char* err, size_t err_len);

/* As quiver_topk_scan, over the chosen rows only: rows[0..nrows) are row numbers of `base`
 * (a filter's passing rows), so the cost is that of nrows rows whatever the size of `base`. */
int32_t quiver_topk_scan_rows(
    int32_t metric, int64_t d,
    const float* queries, int64_t nq,
    const float* base, const int64_t* rows, int64_t nrows,
    const uint64_t* labels, int64_t loc_base,
    int64_t k, float* keys, uint64_t* out_labels, int64_t* locs, int64_t* sizes,
    char* err, size_t err_len);
/* Sorts every query's hits best first (score, then label) and converts keys back to scores
 * (negating them again for inner product). The accumulator cannot be scanned into afterwards. */
void quiver_topk_finalize(
    int32_t metric, int64_t nq, int64_t k,
    float* keys, uint64_t* labels, int64_t* locs, const int64_t* sizes);

/* Smallest query count for which `quiver_topk_scan` uses sgemm. */
int64_t quiver_topk_blas_threshold(void);

/* ---- FAISS indexes ------------------------------------------------------------------------ */

typedef struct quiver_faiss_index quiver_faiss_index;

/* Creates a FAISS IndexFlatL2 or IndexFlatIP. */
int32_t quiver_faiss_flat_new(
    int64_t d, int32_t metric, quiver_faiss_index** out, char* err, size_t err_len);

/* Adds `n` vectors; they get the sequential ids ntotal..ntotal+n-1. */
int32_t quiver_faiss_add(
    quiver_faiss_index* index, int64_t n, const float* x, char* err, size_t err_len);

/* Plain FAISS search: distances[nq*k] and labels[nq*k] in FAISS's own order and conventions
 * (label -1 for missing results). */
int32_t quiver_faiss_search(
    const quiver_faiss_index* index, int64_t nq, const float* x, int64_t k,
    float* distances, int64_t* labels, char* err, size_t err_len);

int64_t quiver_faiss_ntotal(const quiver_faiss_index* index);

/* The vector dimension the index was built for. */
int64_t quiver_faiss_d(const quiver_faiss_index* index);

void quiver_faiss_free(quiver_faiss_index* index);

/* ---- IVF indexes ------------------------------------------------------------------------- */

/* Codes stored in an IVF index's inverted lists. */
#define QUIVER_CODES_FLAT 0 /* the vectors themselves */
#define QUIVER_CODES_SQ8 1  /* 8-bit scalar quantizer, one byte per component, residuals */
#define QUIVER_CODES_PQ 2   /* product quantizer, pq_m bytes per vector (8 bits per sub-vector) */

/* Trains an empty IVF index ("template") on n vectors: k-means for the nlist coarse centroids
 * (niter iterations, seed), then the codes' own training (SQ ranges, PQ codebooks). `spherical`
 * normalizes the centroids (for cosine). Segments are empty clones of a template, so that every
 * segment of a collection shares the same centroids and code parameters. */
int32_t quiver_ivf_train(
    int32_t metric, int64_t d, int64_t nlist, int32_t codes, int32_t pq_m, int32_t spherical,
    const float* x, int64_t n, int32_t niter, int64_t seed, quiver_faiss_index** out,
    char* err, size_t err_len);

/* An empty, trained copy of an IVF index (its own copy of the centroids and code parameters):
 * of a template, or of any segment built from it (its lists are dropped from the copy). */
int32_t quiver_ivf_clone_empty(
    const quiver_faiss_index* source, quiver_faiss_index** out, char* err, size_t err_len);

/* Adds n vectors with the given ids (a segment's local row offsets). */
int32_t quiver_ivf_add(
    quiver_faiss_index* index, int64_t n, const float* x, const int64_t* ids,
    char* err, size_t err_len);

/* The nprobe nearest lists of each query (lists[nq*nprobe], -1 when fewer lists exist) and the
 * distances to their centroids, computed with the index's coarse quantizer. */
int32_t quiver_ivf_assign(
    const quiver_faiss_index* index, int64_t nq, const float* x, int64_t nprobe,
    int64_t* lists, float* coarse_dis, char* err, size_t err_len);

/* Scans the assigned lists of `index` for every query into a top-k accumulator (the same arrays
 * as quiver_topk_scan). An entry with local id i has label labels[i] (ties are broken by the
 * smaller label) and location loc_base + i; entries whose bit is set in `excluded` are skipped
 * inside the scan. Flat and SQ8 codes are scanned with Quiver's kernels, PQ codes with FAISS's
 * list scanner. The assignment must come from a quantizer with the same centroids. */
int32_t quiver_ivf_scan(
    const quiver_faiss_index* index, int32_t metric, const float* queries, int64_t nq,
    const int64_t* lists, const float* coarse_dis, int64_t nprobe,
    const uint64_t* labels, int64_t loc_base, const uint64_t* excluded,
    int64_t k, float* keys, uint64_t* out_labels, int64_t* locs, int64_t* sizes,
    char* err, size_t err_len);

/* A filtered IVF scan of a segment that walks each query's lists nearest first (over every list,
 * not a fixed prefix) and stops once it has probed at least `min_lists` lists, lists holding as
 * many rows whose bit is clear in `excluded` (the rows the filter passes) as `share` of the rows
 * of its first `planned_lists` lists, and the lists left are expected to hold at most
 * `miss_budget` passing rows better than the query's current k-th hit, or than this segment's
 * ceil(`segment_hits`)-th best hit when that is nearer (the segment's expected share of the final
 * k; ivf_walk.cpp has the model). Into a top-k accumulator as quiver_ivf_scan; walked[q] is the
 * lists query q probed.
 * `coarse_keys` (nq × nlist, from quiver_ivf_coarse_keys with the same centroids) saves computing
 * them per segment; NULL computes them. A query q with fewer[q] set (fewer may be NULL) uses one
 * list less for both `min_lists` and `planned_lists`. */
int32_t quiver_ivf_walk_scan(
    const quiver_faiss_index* index, int32_t metric, const float* queries, int64_t nq,
    const float* coarse_keys, const uint64_t* labels, int64_t loc_base, const uint64_t* excluded,
    const uint8_t* fewer, int64_t min_lists, int64_t planned_lists, double share, double miss_budget,
    double segment_hits, int64_t k, float* keys, uint64_t* out_labels, int64_t* locs, int64_t* sizes,
    int64_t* walked, char* err, size_t err_len);

/* keys[q*nlist + l]: query q's squared L2 distance to centroid l, or minus its inner product
 * (smaller is nearer), for every list; IVF indexes with a flat quantizer. */
int32_t quiver_ivf_coarse_keys(
    const quiver_faiss_index* index, int32_t metric, int64_t nq, const float* x, float* keys,
    char* err, size_t err_len);

/* Exact distances from every query to chosen rows of an IVF segment (local ids rows[0..nrows)),
 * whichever lists hold them, into a top-k accumulator as quiver_ivf_scan. Flat codes give exact
 * distances; SQ8 and PQ codes the distances their list scan would. For the rows a filter lets
 * through when they are too few for a list scan to find k of them. */
int32_t quiver_ivf_scan_rows(
    const quiver_faiss_index* index, int32_t metric, const float* queries, int64_t nq,
    const int64_t* rows, int64_t nrows, const uint64_t* labels, int64_t loc_base,
    int64_t k, float* keys, uint64_t* out_labels, int64_t* locs, int64_t* sizes,
    char* err, size_t err_len);
/* Plain FAISS search of an IVF index with nprobe (distances and labels in FAISS's conventions). */
int32_t quiver_faiss_search_ivf(
    const quiver_faiss_index* index, int64_t nq, const float* x, int64_t k, int64_t nprobe,
    float* distances, int64_t* labels, char* err, size_t err_len);

/* Plain FAISS search of an IVF index restricted to the ids whose bit is set in `selected` (bit i of
 * word i/64) through FAISS's IDSelectorBitmap: the filtered-search baseline of the benchmarks. */
int32_t quiver_faiss_search_ivf_selected(
    const quiver_faiss_index* index, int64_t nq, const float* x, int64_t k, int64_t nprobe,
    const uint64_t* selected, int64_t selected_words,
    float* distances, int64_t* labels, char* err, size_t err_len);
int64_t quiver_ivf_nlist(const quiver_faiss_index* index);

/* The size of every inverted list (sizes[nlist]). */
void quiver_ivf_list_sizes(const quiver_faiss_index* index, int64_t* sizes);

/* The list of every local row of a segment (lists[ntotal]), from the row map the shim keeps for
 * scans of chosen rows. Returns 0, or -1 when the index has no row map (not a segment). */
int32_t quiver_ivf_row_lists(const quiver_faiss_index* index, int32_t* lists);

/* Bytes of the inverted lists (codes and ids). */
int64_t quiver_ivf_memory_bytes(const quiver_faiss_index* index);

/* ---- serialization ---------------------------------------------------------------------- */

/* Serializes any index with FAISS's write_index into a buffer owned by the shim; free it with
 * quiver_buffer_free. */
int32_t quiver_faiss_serialize(
    const quiver_faiss_index* index, uint8_t** data, size_t* size, char* err, size_t err_len);

/* Checks, without FAISS, that `data` is an IVF index of the exact layout Quiver writes, of
 * dimension d and ntotal rows, every count in it consistent with the bytes (ivf_layout.cpp).
 * Call before quiver_faiss_deserialize: FAISS's reader allocates what a file's counts say. */
int32_t quiver_ivf_check_layout(const uint8_t* data, size_t size, int64_t d, int64_t ntotal, char* err, size_t err_len);

int32_t quiver_faiss_deserialize(
    const uint8_t* data, size_t size, quiver_faiss_index** out, char* err, size_t err_len);

void quiver_buffer_free(uint8_t* data);

/* ---- recall calibration ----------------------------------------------------------------- */

/* Adds one calibration query's replayed walks to `found` (budgets × depths × grid, row-major):
 * for every depth D, budget b and starting grid index, the walk checks at each grid nprobe from
 * there whether the lists not probed hold at most b·D of the neighbours nearer than its D-th
 * probed one, stops at the first that does (the last grid index, every list, always does), and
 * finds the neighbours among the first D whose lists rank below where it stopped. `ranks`: the
 * rank of each exact neighbour's list in the query's coarse order, nearest neighbour first (m of
 * them). Here rather than in Swift because it runs 500 times per segment built, and a debug
 * build's Swift loop over nested arrays cost seconds per segment. */
void quiver_calibration_walks(const int32_t* ranks, int64_t m, const int32_t* depths, int64_t depth_count,
                              const int32_t* grid, int64_t grid_count, const double* budgets, int64_t budget_count,
                              int64_t* found);

/* CRC-32C (Castagnoli) of n bytes, continuing from `crc` (start with 0). */
uint32_t quiver_crc32c(uint32_t crc, const uint8_t* data, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* QUIVER_FAISS_H */
