// Handles over FAISS indexes and the process-wide thread settings.
//
// FAISS's own C API (c_api/) is not compiled into Debian's libfaiss.a, and it reports errors
// through a thread-local, so this shim exposes the few calls Quiver needs with an explicit error
// buffer. Every entry point catches C++ exceptions: none may unwind into Swift.

#include "quiver_faiss.h"
#include "shim_internal.h"

#include <dlfcn.h>

#include <exception>
#include <memory>

#include <faiss/IndexFlat.h>

// The toolchain's clang ships no omp.h; these are the libgomp entry points FAISS uses.
extern "C" void omp_set_num_threads(int);

using quiver::guarded;

extern "C" void quiver_set_threads(int32_t omp_threads, int32_t blas_threads) {
    if (omp_threads > 0) omp_set_num_threads(omp_threads);
    if (blas_threads > 0) {
        // Only OpenBLAS has this; the reference BLAS is single-threaded anyway. Looked up at run
        // time so that the binary does not depend on which BLAS the alternatives system selected.
        using SetThreads = void (*)(int);
        if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
            set(blas_threads);
        }
    }
}

extern "C" int32_t quiver_faiss_flat_new(int64_t d, int32_t metric, quiver_faiss_index** out,
                                         char* err, size_t err_len) {
    *out = nullptr;
    return guarded(err, err_len, [&] {
        auto handle = std::make_unique<quiver_faiss_index>();
        if (metric == QUIVER_METRIC_IP) {
            handle->index = std::make_unique<faiss::IndexFlatIP>(d);
        } else {
            handle->index = std::make_unique<faiss::IndexFlatL2>(d);
        }
        *out = handle.release();
    });
}

extern "C" int32_t quiver_faiss_add(quiver_faiss_index* index, int64_t n, const float* x,
                                    char* err, size_t err_len) {
    return guarded(err, err_len, [&] { index->index->add(n, x); });
}

extern "C" int32_t quiver_faiss_search(const quiver_faiss_index* index, int64_t nq, const float* x,
                                       int64_t k, float* distances, int64_t* labels, char* err,
                                       size_t err_len) {
    return guarded(err, err_len, [&] {
        static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "idx_t is 64-bit");
        index->index->search(nq, x, k, distances, reinterpret_cast<faiss::Index::idx_t*>(labels));
    });
}

extern "C" int64_t quiver_faiss_ntotal(const quiver_faiss_index* index) {
    return index->index->ntotal;
}

extern "C" int64_t quiver_faiss_d(const quiver_faiss_index* index) { return index->index->d; }

extern "C" void quiver_faiss_free(quiver_faiss_index* index) { delete index; }
