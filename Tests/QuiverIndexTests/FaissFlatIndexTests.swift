import QuiverIndex
import QuiverTesting
import Testing

/// The FAISS baseline must itself be right for the benchmark ratio to mean anything.
@Suite struct FaissFlatIndexTests {
    @Test func flatIndexFindsExactNeighbours() throws {
        let d = 16
        let data = ClusteredDataset(dimension: d, clusters: 4, seed: 9)
        let base = data.points(count: 500, stream: 0)
        let index = try FaissFlatIndex(dimension: d, innerProduct: false)
        try index.add(base)
        #expect(index.count == 500)
        // Querying with stored vectors: each finds itself at distance 0.
        let (distances, labels) = try index.search(Array(base[0..<(3 * d)]), k: 2)
        #expect(labels[0] == 0 && labels[2] == 1 && labels[4] == 2)
        #expect(distances[0] == 0 && distances[2] == 0 && distances[4] == 0)
    }
}
