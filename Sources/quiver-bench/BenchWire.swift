import ArgumentParser
import Foundation
import QuiverCore
import QuiverProto
import QuiverTesting
import QuiverWire
import SwiftProtobuf

/// `quiver-bench wire`: the measurement behind the protocol's vector encoding (docs/protocol.md,
/// "Vectors"). One upsert batch of N × d records is encoded to bytes and decoded back to domain
/// records, with vectors as packed float32 `bytes` (what quiver.v1 uses) and as a packed
/// `repeated float` (proto/quiver/bench/v1), alternating, medians reported.
struct BenchWire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire", abstract: "Vector encoding on the wire: packed bytes against repeated float.")

    @Option(help: "Records per batch.") var records = 1_000
    @Option(help: "Vector dimension.") var dimension = 128
    @Option(help: "Alternating repetitions.") var repeats = 50

    func run() throws {
        let dataset = ClusteredDataset(dimension: dimension, clusters: 10, seed: 1)
        let batch = BenchEngine.batches(dataset.points(count: records, stream: 0), dimension: dimension, batchSize: records, firstID: 0)[0]
        var timings: [String: [Double]] = [:]
        var sizes: [String: Int] = [:]
        func time(_ label: String, _ body: () throws -> Void) rethrows {
            let started = ContinuousClock.now
            try body()
            timings[label, default: []].append((ContinuousClock.now - started).seconds * 1e6)
        }
        for _ in 0..<repeats {
            var packed = Data()
            try time("bytes encode") {
                let request = Quiver_V1_UpsertRequest.with { $0.collection = "c"; $0.records = batch.map(Quiver_V1_Record.init) }
                packed = try request.serializedData()
            }
            try time("bytes parse only") { _ = try Quiver_V1_UpsertRequest(serializedBytes: packed) }
            try time("bytes decode") {
                let request = try Quiver_V1_UpsertRequest(serializedBytes: packed)
                let decoded = try request.records.map { try $0.toRecord(collection: "c") }
                precondition(decoded.count == records)
            }
            var floats = Data()
            try time("float encode") {
                let request = Quiver_Bench_V1_FloatUpsertRequest.with {
                    $0.collection = "c"
                    $0.records = batch.map { record in .with { $0.id = record.id.rawValue; $0.vector = record.vector } }
                }
                floats = try request.serializedData()
            }
            try time("float decode") {
                let request = try Quiver_Bench_V1_FloatUpsertRequest(serializedBytes: floats)
                let decoded = request.records.map { Record(id: RecordID($0.id), vector: $0.vector) }
                precondition(decoded.count == records)
            }
            sizes["bytes"] = packed.count
            sizes["float"] = floats.count
        }
        print("wire encoding of one upsert batch: \(records) records × \(dimension) float32, \(repeats) alternating repetitions, medians")
        print("  (decoding packed bytes: protobuf parsing \(String(format: "%.1f", Percentile.median(timings["bytes parse only"]!))) µs, the rest is copying into [Float])")
        for kind in ["bytes", "float"] {
            let name = kind == "bytes" ? "packed bytes (quiver.v1)" : "repeated float          "
            print("  \(name)  \(sizes[kind]!) bytes  encode \(String(format: "%7.1f", Percentile.median(timings["\(kind) encode"]!))) µs  decode \(String(format: "%7.1f", Percentile.median(timings["\(kind) decode"]!))) µs")
        }
    }
}
