// A structural check of a serialized IVF index before FAISS reads it (quiver_ivf_check_layout).
//
// Why: FAISS 1.7.3's reader sizes its vectors by the counts it reads (a list's size, the direct
// map's length, nlist) and allocates before it knows whether the bytes are there — a forged count
// made it allocate 1.2 GB, or fail on a 5 TB request — and it leaks the index it was building
// when a later read throws. Segment files are checksummed, so only a file crafted to match its
// checksums gets here; still, the fuzzer found both in minutes (docs/operations.md, "Fuzzing").
// This walks the exact layouts Quiver writes — IndexIVFFlat, IndexIVFScalarQuantizer and
// IndexIVFPQ ("IwFl", "IwSq", "IwPQ"), an IndexFlat quantizer ("IxF2"/"IxFI"), no direct map,
// ArrayInvertedLists ("ilar", "full" or "sprs" sizes) — and checks every count against the
// dimension and row count the segment file declares and against the bytes that remain, so that
// every allocation FAISS then makes is bounded by the file's size. Anything else is refused.
//
// The layout (FAISS's write_index, little endian): fourcc; index header (d i32, ntotal i64, two
// i64, is_trained u8, metric i32); nlist u64, nprobe u64; the quantizer (fourcc, its header,
// xb: count u64 + count floats); the direct map (type u8, count u64 + count i64); then per code:
// Sq: qtype i32, rangestat i32, rangestat_arg f32, d u64, code_size u64, trained (count u64 +
// floats), code_size u64, by_residual u8; PQ: by_residual u8, code_size u64, d u64, M u64,
// nbits u64, centroids (count u64 + floats); then the lists: "ilar", nlist u64, code_size u64,
// "full" (count u64 = nlist, sizes u64…) or "sprs" (count u64, (list, size) u64 pairs), then each
// non-empty list's codes (size × code_size bytes) and ids (size × 8 bytes).

#include "shim_internal.h"

#include <cstring>
#include <string>

namespace {

uint32_t fourcc(const char* s) {
    return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 | uint32_t(uint8_t(s[2])) << 16 | uint32_t(uint8_t(s[3])) << 24;
}

struct Cursor {
    const uint8_t* p;
    size_t left;

    template <class T>
    bool read(T& out) {
        if (left < sizeof(T)) return false;
        std::memcpy(&out, p, sizeof(T));
        p += sizeof(T);
        left -= sizeof(T);
        return true;
    }

    bool skip(uint64_t count, uint64_t size) {
        if (size != 0 && count > left / size) return false;
        p += count * size;
        left -= count * size;
        return true;
    }
};

struct LayoutError {
    const char* what;
};

void require(bool ok, const char* what) {
    if (!ok) throw LayoutError{what};
}

// An index header: its d must be `d` and its ntotal `ntotal`.
void header(Cursor& c, int64_t d, int64_t ntotal) {
    int32_t dimension = 0, metric = 0;
    int64_t total = 0, dummy = 0;
    uint8_t trained = 0;
    require(c.read(dimension) && c.read(total) && c.read(dummy) && c.read(dummy) && c.read(trained) && c.read(metric),
            "truncated index header");
    require(dimension == d, "index dimension differs from the segment's");
    require(total == ntotal, "index row count differs from the segment's");
    require(trained <= 1 && (metric == 0 || metric == 1), "unknown index flags or metric");
}

// A vector of `count` elements of `size` bytes, whose count must be `expected`.
void vector(Cursor& c, uint64_t expected, uint64_t size, const char* what) {
    uint64_t count = 0;
    require(c.read(count), what);
    require(count == expected, what);
    require(c.skip(count, size), what);
}

}  // namespace

extern "C" int32_t quiver_ivf_check_layout(const uint8_t* data, size_t size, int64_t d, int64_t ntotal, char* err, size_t err_len) {
    try {
        Cursor c{data, size};
        require(d > 0 && d <= 65536 && ntotal >= 0, "bad expected shape");
        uint32_t kind = 0;
        require(c.read(kind), "truncated");
        require(kind == fourcc("IwFl") || kind == fourcc("IwSq") || kind == fourcc("IwPQ"), "not an IVF index Quiver writes");
        header(c, d, ntotal);
        uint64_t nlist = 0, nprobe = 0;
        require(c.read(nlist) && c.read(nprobe), "truncated IVF header");
        require(nlist >= 1 && nlist <= 65536, "nlist out of range");
        // The coarse quantizer: a flat index of the nlist centroids.
        uint32_t quantizer = 0;
        require(c.read(quantizer), "truncated quantizer");
        require(quantizer == fourcc("IxF2") || quantizer == fourcc("IxFI"), "the quantizer is not a flat index");
        header(c, d, int64_t(nlist));
        vector(c, nlist * uint64_t(d), 4, "quantizer centroids do not match nlist × d");
        uint8_t map_type = 0;
        require(c.read(map_type) && map_type == 0, "a direct map, which Quiver never keeps");
        vector(c, 0, 8, "a direct map, which Quiver never keeps");
        uint64_t code_size = 0;
        if (kind == fourcc("IwFl")) {
            code_size = uint64_t(d) * 4;
        } else if (kind == fourcc("IwSq")) {
            int32_t qtype = 0, rangestat = 0;
            float rangestat_arg = 0;
            uint64_t sq_d = 0, sq_code_size = 0, trained = 0;
            uint8_t by_residual = 0;
            require(c.read(qtype) && c.read(rangestat) && c.read(rangestat_arg) && c.read(sq_d) && c.read(sq_code_size),
                    "truncated scalar quantizer");
            require(qtype >= 0 && qtype < 16 && rangestat >= 0 && rangestat < 16, "unknown scalar quantizer");
            require(sq_d == uint64_t(d) && sq_code_size >= 1 && sq_code_size <= uint64_t(d) * 4, "scalar quantizer shape");
            require(c.read(trained) && trained <= uint64_t(d) * 2 && c.skip(trained, 4), "scalar quantizer ranges");
            require(c.read(code_size) && code_size == sq_code_size && c.read(by_residual) && by_residual <= 1,
                    "scalar quantizer code size");
        } else {
            uint8_t by_residual = 0;
            uint64_t pq_d = 0, m = 0, nbits = 0;
            require(c.read(by_residual) && by_residual <= 1 && c.read(code_size), "truncated PQ header");
            require(c.read(pq_d) && c.read(m) && c.read(nbits), "truncated product quantizer");
            require(pq_d == uint64_t(d) && m >= 1 && m <= uint64_t(d) && d % int64_t(m) == 0 && nbits >= 1 && nbits <= 16,
                    "product quantizer shape");
            require(code_size == (m * nbits + 7) / 8, "product quantizer code size");
            vector(c, uint64_t(d) << nbits, 4, "product quantizer centroids");
        }
        // The inverted lists.
        uint32_t lists = 0, sizes_kind = 0;
        uint64_t lists_nlist = 0, lists_code_size = 0;
        require(c.read(lists) && lists == fourcc("ilar"), "the lists are not ArrayInvertedLists");
        require(c.read(lists_nlist) && lists_nlist == nlist && c.read(lists_code_size) && lists_code_size == code_size,
                "the lists' nlist or code size differ from the index's");
        require(c.read(sizes_kind), "truncated list sizes");
        std::vector<uint64_t> sizes(nlist, 0);
        if (sizes_kind == fourcc("full")) {
            uint64_t count = 0;
            require(c.read(count) && count == nlist, "full list sizes do not match nlist");
            for (auto& s : sizes) require(c.read(s), "truncated list sizes");
        } else {
            require(sizes_kind == fourcc("sprs"), "unknown list size encoding");
            uint64_t count = 0;
            require(c.read(count) && count % 2 == 0 && count <= 2 * nlist, "sparse list sizes");
            for (uint64_t i = 0; i < count; i += 2) {
                uint64_t list = 0, s = 0;
                require(c.read(list) && c.read(s) && list < nlist, "sparse list sizes");
                sizes[list] = s;
            }
        }
        uint64_t rows = 0, bytes = 0;
        for (uint64_t s : sizes) {
            require(s <= uint64_t(ntotal) && rows + s <= uint64_t(ntotal), "list sizes exceed the row count");
            rows += s;
            bytes += s * (code_size + 8);
        }
        require(rows == uint64_t(ntotal), "list sizes do not add up to the row count");
        require(c.left == bytes, "the lists' codes and ids do not fill the rest exactly");
        return 0;
    } catch (const LayoutError& e) {
        quiver::write_error(err, err_len, e.what);
        return 3;
    }
}
