import Foundation
import QuiverCore
import QuiverIndex
import QuiverTesting
import Testing

@Suite struct IVFIndexTests {
    /// Naive ranking as in TopKScanTests: (score, label) best first, excluded rows skipped.
    func naive(_ queries: [Float], _ base: [Float], labels: [RecordID], d: Int, k: Int, ip: Bool, excluded: Set<Int>) -> [[RecordID]] {
        let nb = base.count / d
        return (0..<(queries.count / d)).map { q in
            var hits: [(Double, RecordID)] = []
            for i in 0..<nb where !excluded.contains(i) {
                var s = 0.0
                for j in 0..<d {
                    let x = Double(queries[q * d + j]), y = Double(base[i * d + j])
                    s += ip ? x * y : (x - y) * (x - y)
                }
                hits.append((s, labels[i]))
            }
            hits.sort { a, b in a.0 != b.0 ? (ip ? a.0 > b.0 : a.0 < b.0) : a.1 < b.1 }
            return hits.prefix(k).map(\.1)
        }
    }

    func bitmap(_ excluded: Set<Int>, count: Int) -> RowBitmap {
        var rows = RowBitmap(count: count)
        rows.insert(contentsOf: excluded)
        return rows
    }

    /// With nprobe = nlist every list is scanned: IVF-Flat must equal exact search, ties included.
    @Test(arguments: [false, true])
    func flatAtFullProbeIsExact(ip: Bool) throws {
        let d = 24
        var rng = SeededRandom(seed: 8)
        let n = 3_000
        let base = (0..<(n * d)).map { _ in Float(Int.random(in: -3...3, using: &rng)) }
        let labels = (0..<n).map { RecordID(UInt64($0) * 31 % 4_099) }
        let excluded = Set((0..<n).filter { _ in Int.random(in: 0..<8, using: &rng) == 0 })
        let template = try IVFIndex.train(
            innerProduct: ip, dimension: d, nlist: 32, codes: .flat, spherical: false, vectors: base, iterations: 10, seed: 1)
        #expect(template.count == 0 && template.nlist == 32)
        let segment = try template.emptyClone()
        try base.withUnsafeBufferPointer { try segment.add($0, ids: (0..<n).map(Int64.init)) }
        #expect(segment.count == n && segment.listSizes().reduce(0, +) == n)
        let queries = (0..<(9 * d)).map { _ in Float(Int.random(in: -3...3, using: &rng)) }
        let assignment = try template.assign(queries: queries, nprobe: 32)
        var accumulator = TopKAccumulator(queries: queries, dimension: d, k: 40, innerProduct: ip)
        try segment.scan(
            assignment: assignment, labels: labels, excluded: bitmap(excluded, count: n), locationBase: 7 << 32,
            into: &accumulator)
        let hits = accumulator.finish()
        let want = naive(queries, base, labels: labels, d: d, k: 40, ip: ip, excluded: excluded)
        for q in 0..<9 {
            #expect(hits[q].map(\.label) == want[q], "q=\(q)")
            #expect(hits[q].allSatisfy { $0.location >> 32 == 7 && !excluded.contains(Int($0.location & 0xFFFF_FFFF)) })
        }
    }

    /// Fewer than 20 queries are assigned with Quiver's kernels, 20 or more by FAISS's quantizer:
    /// both must pick the same lists in the same order with the same distances (random floats,
    /// so no ties).
    @Test(arguments: [false, true])
    func coarseAssignmentOfFewQueriesAgreesWithFAISS(ip: Bool) throws {
        let d = 40
        var rng = SeededRandom(seed: 9)
        let base = (0..<(4_000 * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        let template = try IVFIndex.train(
            innerProduct: ip, dimension: d, nlist: 64, codes: .flat, spherical: false, vectors: base, iterations: 8, seed: 3)
        let queries = (0..<(25 * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        for nprobe in [1, 7, 64] {
            let byFAISS = try template.assign(queries: queries, nprobe: nprobe)
            for q in 0..<25 {
                let one = try template.assign(queries: Array(queries[(q * d)..<((q + 1) * d)]), nprobe: nprobe)
                let range = (q * nprobe)..<((q + 1) * nprobe)
                #expect(one.lists == Array(byFAISS.lists[range]), "nprobe=\(nprobe) q=\(q)")
                for (a, b) in zip(one.distances, byFAISS.distances[range]) {
                    #expect(abs(a - b) <= 1e-4 * max(1, abs(b)), "nprobe=\(nprobe) q=\(q): \(a) vs \(b)")
                }
            }
        }
    }

    /// Two segments cloned from one template share the assignment and merge into one top-k.
    @Test func segmentsShareTheTemplateAndMerge() throws {
        let d = 16
        let data = ClusteredDataset(dimension: d, clusters: 20, seed: 4)
        let base = data.points(count: 4_000, stream: 0)
        let template = try IVFIndex.train(
            innerProduct: false, dimension: d, nlist: 64, codes: .flat, spherical: false, vectors: base, iterations: 10, seed: 1)
        let first = try template.emptyClone()
        let second = try template.emptyClone()
        try base.withUnsafeBufferPointer { all in
            try first.add(UnsafeBufferPointer(rebasing: all[0..<(2_000 * d)]), ids: (0..<2_000).map(Int64.init))
            try second.add(UnsafeBufferPointer(rebasing: all[(2_000 * d)...]), ids: (0..<2_000).map(Int64.init))
        }
        let queries = data.points(count: 5, stream: 1)
        let assignment = try template.assign(queries: queries, nprobe: 64)
        var merged = TopKAccumulator(queries: queries, dimension: d, k: 10, innerProduct: false)
        try first.scan(assignment: assignment, labels: (0..<2_000).map { RecordID(UInt64($0)) }, excluded: nil, locationBase: 0, into: &merged)
        try second.scan(assignment: assignment, labels: (2_000..<4_000).map { RecordID(UInt64($0)) }, excluded: nil, locationBase: 1 << 32, into: &merged)
        let want = naive(queries, base, labels: (0..<4_000).map { RecordID(UInt64($0)) }, d: d, k: 10, ip: false, excluded: [])
        #expect(merged.finish().map { $0.map(\.label) } == want)
    }

    @Test(arguments: [IVFCodes.sq8, .pq(m: 8)])
    func quantizedCodesFindTheNeighbours(codes: IVFCodes) throws {
        let d = 32
        let data = ClusteredDataset(dimension: d, clusters: 30, seed: 6)
        let base = data.points(count: 6_000, stream: 0)
        let template = try IVFIndex.train(
            innerProduct: false, dimension: d, nlist: 32, codes: codes, spherical: false, vectors: base, iterations: 10, seed: 2)
        let segment = try template.emptyClone()
        try base.withUnsafeBufferPointer { try segment.add($0, ids: (0..<6_000).map(Int64.init)) }
        // Querying with stored vectors: each should find itself among its first hits.
        let queries = Array(base[0..<(50 * d)])
        let assignment = try template.assign(queries: queries, nprobe: 8)
        var accumulator = TopKAccumulator(queries: queries, dimension: d, k: 10, innerProduct: false)
        try segment.scan(assignment: assignment, labels: (0..<6_000).map { RecordID(UInt64($0)) }, excluded: nil, locationBase: 0, into: &accumulator)
        let found = accumulator.finish().enumerated().filter { q, hits in hits.contains { $0.label == RecordID(UInt64(q)) } }.count
        #expect(found >= 45, "\(codes): found itself in \(found) of 50")
    }

    @Test func serializationRoundTrips() throws {
        let d = 8
        let data = ClusteredDataset(dimension: d, clusters: 5, seed: 3)
        let base = data.points(count: 1_000, stream: 0)
        let template = try IVFIndex.train(
            innerProduct: true, dimension: d, nlist: 16, codes: .flat, spherical: true, vectors: base, iterations: 5, seed: 3)
        let segment = try template.emptyClone()
        try base.withUnsafeBufferPointer { try segment.add($0, ids: (0..<1_000).map(Int64.init)) }
        let bytes = try segment.serialized()
        let copy = try bytes.withUnsafeBytes { raw in try IVFIndex.deserialize(raw, dimension: d, rows: 1_000) }
        #expect(copy.count == 1_000 && copy.listSizes() == segment.listSizes())
        let queries = data.points(count: 3, stream: 1)
        #expect(try copy.searchFAISS(queries, k: 5, nprobe: 16).labels == (try segment.searchFAISS(queries, k: 5, nprobe: 16).labels))
        #expect(throws: QuiverError.self) { try [UInt8](repeating: 7, count: 64).withUnsafeBytes { try IVFIndex.deserialize($0, dimension: d, rows: 0) } }
    }

    /// Every layout Quiver writes (flat, SQ8 and PQ codes, L2 and inner product) passes the
    /// layout check that runs before FAISS's reader, and the check refuses what does not match:
    /// another row count or dimension, a byte more or less, a list size that does not add up.
    @Test(arguments: [IVFCodes.flat, .sq8, .pq(m: 4)])
    func theLayoutCheckAcceptsWhatQuiverWritesAndNothingElse(codes: IVFCodes) throws {
        let d = 8
        let data = ClusteredDataset(dimension: d, clusters: 5, seed: 4)
        let base = data.points(count: 600, stream: 0)
        for innerProduct in [false, true] {
            let template = try IVFIndex.train(
                innerProduct: innerProduct, dimension: d, nlist: 8, codes: codes, spherical: false, vectors: base, iterations: 4, seed: 1)
            let segment = try template.emptyClone()
            try base.withUnsafeBufferPointer { try segment.add($0, ids: (0..<600).map(Int64.init)) }
            let bytes = try segment.serialized()
            let copy = try bytes.withUnsafeBytes { try IVFIndex.deserialize($0, dimension: d, rows: 600) }
            #expect(copy.listSizes() == segment.listSizes(), "\(codes)")
            #expect(throws: QuiverError.self) { try bytes.withUnsafeBytes { try IVFIndex.deserialize($0, dimension: d, rows: 599) } }
            #expect(throws: QuiverError.self) { try bytes.withUnsafeBytes { try IVFIndex.deserialize($0, dimension: 4, rows: 600) } }
            #expect(throws: QuiverError.self) { try (bytes + [0]).withUnsafeBytes { try IVFIndex.deserialize($0, dimension: d, rows: 600) } }
            #expect(throws: QuiverError.self) { try bytes.dropLast().withUnsafeBytes { try IVFIndex.deserialize($0, dimension: d, rows: 600) } }
            // The first list's size, made larger: the sizes no longer add up to the rows.
            var forged = bytes
            let full = Array("full".utf8)
            let at = try #require((0..<(forged.count - 4)).first { Array(forged[$0..<($0 + 4)]) == full })
            forged[at + 12] &+= 1
            #expect(throws: QuiverError.self) { try forged.withUnsafeBytes { try IVFIndex.deserialize($0, dimension: d, rows: 600) } }
        }
    }

    @Test func crc32cMatchesTheStandardCheckValue() {
        let check = Array("123456789".utf8).withUnsafeBytes { CRC32C.checksum($0) }
        #expect(check == 0xE306_9283)
        let long = [UInt8](repeating: 0xAB, count: 1_000)
        let whole = long.withUnsafeBytes { CRC32C.checksum($0) }
        let split = long.withUnsafeBytes { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[500...]), continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[..<500])))
        }
        #expect(whole == split)
    }
}
