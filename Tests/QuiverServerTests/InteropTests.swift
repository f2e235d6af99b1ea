import Foundation
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import Testing

/// A client nobody here wrote: Python's grpcio, with stubs generated from proto/ at test time
/// (Tests/interop/quiver_interop.py). Its writes and searches are checked against the Swift
/// client on the same server and against the brute-force oracle.
@Suite struct InteropTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct Result: Decodable {
        struct PyRecord: Decodable { let id: UInt64; let vector: [Float]; let title: String; let year: Int64; let labels: [String] }
        struct PyResult: Decodable { let ids: [UInt64]; let scores: [Float]; let titles: [String] }
        struct PyGet: Decodable { let id: UInt64; let vector: [Float]; let title: String }
        struct PyError: Decodable { let code: String; let message: String; let reason: String? }
        struct PyStreamError: Decodable { let code: String; let message: String; let reason: String?; let answered: Int }
        struct PyFiltered: Decodable {
            let filter: String
            let results: [PyResult]
            let passing_rows: Int
            let strategies: [String]
            let count: Int
        }
        let health: String
        let records: [PyRecord]
        let queries: [[Float]]
        let results: [PyResult]
        let get: [PyGet]
        let errors: [String: PyError]
        let filtered: PyFiltered
        let streamed: [PyResult]
        let stream_error: PyStreamError
    }

    @Test func pythonGrpcioClientInteroperates() async throws {
        let server = try await TestServer()
        let out = server.dataDirectory.child("interop.json")
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = [
            "python3", Self.repository.appendingPathComponent("Tests/interop/quiver_interop.py").path,
            "--server", server.address, "--proto-dir", Self.repository.appendingPathComponent("proto").path, "--out", out,
        ]
        let errors = Pipe()
        python.standardError = errors
        try python.run()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        python.waitUntilExit()
        try #require(
            python.terminationStatus == 0,
            "the Python client failed (scripts/test.sh installs grpcio and grpcio-tools): \(errorText)")
        let result = try JSONDecoder().decode(Result.self, from: Data(contentsOf: URL(fileURLWithPath: out)))

        #expect(result.health == "SERVING")
        // What Python wrote is what Swift reads, bit for bit.
        try await server.withClient { client async throws in
            let stored = try await client.get("interop", ids: result.records.map { RecordID($0.id) })
            for (record, got) in zip(result.records, stored) {
                #expect(got?.vector?.map(\.bitPattern) == record.vector.map(\.bitPattern))
                #expect(got?.fields == ["title": .string(record.title), "year": .int64(record.year), "labels": .tags(record.labels)])
            }
            // Python's search results equal the Swift client's and the oracle's.
            var oracle = BruteForceOracle(metric: .l2, dimension: 16)
            for record in result.records { oracle.upsert(RecordID(record.id), record.vector) }
            let swiftResults = try await client.search(
                "interop", queries: result.queries, k: 10, options: SearchOptions(fields: .only(["title"])))
            for (q, (py, swift)) in zip(result.results, swiftResults).enumerated() {
                #expect(py.ids == swift.map(\.id.rawValue), "query \(q)")
                #expect(py.scores == swift.map(\.score), "query \(q)")
                #expect(py.titles == swift.map { if case .string(let t)? = $0.fields?["title"] { t } else { "" } })
                let want = oracle.search(result.queries[q], k: 10)
                #expect(py.ids == want.map(\.id.rawValue) && py.scores.map(Double.init) == want.map(\.score), "query \(q)")
            }
            // The same queries one per request on a SearchStream.
            #expect(result.streamed.count == result.queries.count)
            for (q, py) in result.streamed.enumerated() {
                #expect(py.ids == swiftResults[q].map(\.id.rawValue) && py.scores == swiftResults[q].map(\.score), "streamed query \(q)")
            }
            #expect(result.stream_error.code == "INVALID_ARGUMENT" && result.stream_error.reason == "dimensionMismatch")
            #expect(result.stream_error.answered == 1)
        }
        // Python's filtered search equals brute force over the records that pass.
        let passing = result.records.filter { $0.year >= 2005 && $0.labels.contains("x1") }
        var filteredOracle = BruteForceOracle(metric: .l2, dimension: 16)
        for record in passing { filteredOracle.upsert(RecordID(record.id), record.vector) }
        #expect(result.filtered.count == passing.count && result.filtered.passing_rows == passing.count)
        #expect(!result.filtered.strategies.isEmpty)
        for (q, py) in result.filtered.results.enumerated() {
            let want = filteredOracle.search(result.queries[q], k: 10)
            #expect(py.ids == want.map(\.id.rawValue) && py.scores.map(Double.init) == want.map(\.score), "filtered query \(q)")
        }
        #expect(result.errors["bad_filter"]?.code == "INVALID_ARGUMENT")
        #expect(result.errors["bad_filter"]?.reason == "invalidFilter")
        #expect(result.errors["bad_filter"]?.message.contains("column") == true)
        #expect(result.get.map(\.id) == [1000, 1001])
        #expect(result.get[0].vector == result.records[0].vector && result.get[0].title == "py-0")

        // Errors reach Python with their status code and the reason trailer.
        #expect(result.errors["wrong_dimension"]?.code == "INVALID_ARGUMENT")
        #expect(result.errors["wrong_dimension"]?.reason == "dimensionMismatch")
        #expect(result.errors["wrong_dimension"]?.message.contains("record 1 has dimension 3, expected 16") == true)
        #expect(result.errors["missing_collection"]?.code == "NOT_FOUND")
        #expect(result.errors["missing_collection"]?.reason == "collectionNotFound")
        try await server.stop()
    }
}
