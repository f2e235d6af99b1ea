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
/// `repeated float` (proto/quiver/bench/v1), alternating, medians reported; and the same batch
/// as columns (`RecordColumns`), without and with two fields against the row form.
struct BenchWire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire", abstract: "Vector encoding on the wire: packed bytes against repeated float.")

    @Option(help: "Records per batch.") var records = 1_000
    @Option(help: "Vector dimension.") var dimension = 128
    @Option(help: "Alternating repetitions.") var repeats = 50

    func run() throws {
        let dataset = ClusteredDataset(dimension: dimension, clusters: 10, seed: 1)
        let batch = BenchEngine.batches(dataset.points(count: records, stream: 0), dimension: dimension, batchSize: records, firstID: 0)[0]
        let withFields = batch.enumerated().map { i, record in
            var record = record
            record.fields = ["year": .int64(Int64(1_900 + i % 120)), "title": .string("title \(i)")]
            return record
        }
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
            var columns = Data()
            try time("columns encode") {
                let request = Quiver_V1_UpsertRequest.with { $0.collection = "c"; $0.columns = Quiver_V1_RecordColumns(batch)! }
                columns = try request.serializedData()
            }
            try time("columns decode") {
                let request = try Quiver_V1_UpsertRequest(serializedBytes: columns)
                let decoded = try request.columns.toRecords(collection: "c")
                precondition(decoded.count == records)
            }
            // The same batch with two fields (an int64 and a string) in both forms.
            var rowsWithFields = Data()
            try time("rows+fields encode") {
                rowsWithFields = try Quiver_V1_UpsertRequest.with { $0.collection = "c"; $0.records = withFields.map(Quiver_V1_Record.init) }
                    .serializedData()
            }
            try time("rows+fields decode") {
                let request = try Quiver_V1_UpsertRequest(serializedBytes: rowsWithFields)
                let decoded = try request.records.map { try $0.toRecord(collection: "c") }
                precondition(decoded.count == records)
            }
            var columnsWithFields = Data()
            try time("columns+fields encode") {
                columnsWithFields = try Quiver_V1_UpsertRequest.with { $0.collection = "c"; $0.columns = Quiver_V1_RecordColumns(withFields)! }
                    .serializedData()
            }
            try time("columns+fields decode") {
                let request = try Quiver_V1_UpsertRequest(serializedBytes: columnsWithFields)
                let decoded = try request.columns.toRecords(collection: "c")
                precondition(decoded.count == records)
            }
            sizes["bytes"] = packed.count
            sizes["float"] = floats.count
            sizes["columns"] = columns.count
            sizes["rows+fields"] = rowsWithFields.count
            sizes["columns+fields"] = columnsWithFields.count
        }
        print("wire encoding of one upsert batch: \(records) records × \(dimension) float32, \(repeats) alternating repetitions, medians")
        print("  (decoding packed bytes: protobuf parsing \(String(format: "%.1f", Percentile.median(timings["bytes parse only"]!))) µs, the rest is copying into [Float])")
        let names = [
            "bytes": "packed bytes (quiver.v1)", "float": "repeated float          ", "columns": "columns (quiver.v1)     ",
            "rows+fields": "rows, 2 fields          ", "columns+fields": "columns, 2 fields       ",
        ]
        for kind in ["bytes", "float", "columns", "rows+fields", "columns+fields"] {
            let name = names[kind]!
            print("  \(name)  \(sizes[kind]!) bytes  encode \(String(format: "%7.1f", Percentile.median(timings["\(kind) encode"]!))) µs  decode \(String(format: "%7.1f", Percentile.median(timings["\(kind) decode"]!))) µs")
        }
    }
}
