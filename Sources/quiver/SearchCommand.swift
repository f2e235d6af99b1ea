import ArgumentParser
import Foundation
import QuiverClient
import QuiverCore

struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the k nearest records to one or many query vectors.",
        discussion: """
            Give one query with --vector, or many with --queries (.fvecs or .npy float32). Scores \
            are squared L2 distances for l2 (smaller is better) and similarities for ip and cosine. \
            With --json, one object per query per line: {"ids": [...], "scores": [...]} plus \
            "fields" and "vectors" (parallel to "ids") when requested, and "explain" with --explain. \
            --filter restricts the hits to records that pass a boolean expression over the \
            collection's fields, e.g. 'year >= 2020 and labels contains "news"' (docs/filters.md); \
            k hits come back whenever k records pass.
            """)

    @Argument(help: "Collection name.") var name: String

    @Option(help: ArgumentHelp("One query vector, comma-separated.", valueName: "x1,x2,..."))
    var vector: String?

    @Option(help: ArgumentHelp("Query vectors from a .fvecs or .npy file.", valueName: "file"))
    var queries: String?

    @Option(name: .short, help: "Hits per query, 1–16384.")
    var k = 10

    @Option(name: .customLong("field"), help: "Return this field with each hit (repeatable).")
    var fields: [String] = []

    @Flag(help: "Return every field with each hit.")
    var allFields = false

    @Flag(help: "Return each hit's vector.")
    var includeVectors = false

    @Option(help: "Coarse lists probed in indexed segments, at least (more where k or the filter need them to keep the recall this nprobe has at k = 10); nlist or more is exact with flat codes.")
    var nprobe: Int?

    @Option(help: ArgumentHelp("The recall@k to reach with the fewest lists, 0.5–1 (default: the collection's nprobe or target, else 0.95); 1 is exact with flat codes. Ignored with --nprobe.", valueName: "target"))
    var recall: Double?

    @Option(help: ArgumentHelp("Only records that pass this filter expression.", valueName: "expression"))
    var filter: String?

    @Flag(help: "Print how the search ran: rows passing the filter and each segment's strategy and nprobe.")
    var explain = false

    @OptionGroup var client: ClientOptions

    /// Queries per request: large query files are sent in slices, results printed in order.
    static let queriesPerRequest = 1_024

    func validate() throws {
        guard (vector == nil) != (queries == nil) else { throw ValidationError("give exactly one of --vector and --queries") }
        guard Limits.kRange.contains(k) else { throw ValidationError("-k must be between 1 and \(Limits.kRange.upperBound)") }
        if let nprobe, !IndexSettings.nprobeRange.contains(nprobe) {
            throw ValidationError("--nprobe must be between 1 and \(IndexSettings.nprobeRange.upperBound)")
        }
        if let recall, !IndexSettings.recallTargetRange.contains(recall) {
            throw ValidationError("--recall must be between 0.5 and 1")
        }
    }

    func run() async throws {
        let queryVectors = try client.checked { () throws -> [[Float]] in
            if let vector {
                let parts = vector.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let values = parts.compactMap(Float.init)
                guard values.count == parts.count, !values.isEmpty else {
                    throw CLIError("--vector must be comma-separated numbers, got '\(vector)'")
                }
                return [values]
            }
            return try VectorFiles.readVectors(queries!).vectors
        }
        let selection: FieldSelection = allFields ? .all : fields.isEmpty ? .none : .only(fields)
        let options = SearchOptions(includeVectors: includeVectors, fields: selection, nprobe: nprobe, recallTarget: recall, filter: filter)
        try await client.run { quiver in
            var offset = 0
            while offset < queryVectors.count {
                let slice = Array(queryVectors[offset..<min(offset + Self.queriesPerRequest, queryVectors.count)])
                let (results, plan) = try await quiver.explainedSearch(name, queries: slice, k: k, options: options, explain: explain)
                for (i, hits) in results.enumerated() { emit(query: offset + i, hits: hits, options: options, plan: plan) }
                if let plan, !client.json { Self.printPlan(plan) }
                offset += slice.count
            }
        }
    }

    private func emit(query: Int, hits: [SearchHit], options: SearchOptions, plan: SearchPlan?) {
        if client.json {
            var pairs: [(String, JSONValue)] = [
                ("ids", .array(hits.map { .uint($0.id.rawValue) })), ("scores", .array(hits.map { .float($0.score) })),
            ]
            if let plan { pairs.append(("explain", Self.json(plan))) }
            if options.fields != .none { pairs.append(("fields", .array(hits.map { RecordFormat.json($0.fields ?? [:]) }))) }
            if options.includeVectors { pairs.append(("vectors", .array(hits.map { RecordFormat.json($0.vector ?? []) }))) }
            client.print(.object(pairs))
            return
        }
        print("query \(query): \(hits.count) hits")
        let rows = hits.enumerated().map { rank, hit in
            var row = [String(rank + 1), String(hit.id.rawValue), JSONValue.float(hit.score).rendered]
            if options.fields != .none { row.append(RecordFormat.brief(hit.fields ?? [:])) }
            if options.includeVectors { row.append(RecordFormat.brief(hit.vector ?? [])) }
            return row
        }
        var header = ["  RANK", "ID", "SCORE"]
        if options.fields != .none { header.append("FIELDS") }
        if options.includeVectors { header.append("VECTOR") }
        print(Table.render(header: header, rows: rows.map { ["  " + $0[0]] + $0.dropFirst() }))
    }

    static func json(_ plan: SearchPlan) -> JSONValue {
        .object([
            ("filter", plan.filter.map { .string($0) } ?? .null), ("passing_rows", .int(Int64(plan.passingRows))),
            ("exact_retries", .int(Int64(plan.exactRetries))), ("filter_micros", .int(Int64(plan.filterMicroseconds))),
            ("recall_target", plan.recallTarget.map { .double($0) } ?? .null), ("nprobe_given", plan.nprobeGiven.map { .int(Int64($0)) } ?? .null),
            (
                "segments",
                .array(
                    plan.segments.map { segment in
                        .object([
                            ("segment", .uint(UInt64(segment.id.rawValue))), ("phase", .string(segment.phase.rawValue)),
                            ("live_rows", .int(Int64(segment.liveRows))), ("passing_rows", .int(Int64(segment.passingRows))),
                            ("strategy", .string(segment.strategy.rawValue)), ("nprobe", segment.nprobe.map { .int(Int64($0)) } ?? .null),
                            ("nlist", segment.nlist.map { .int(Int64($0)) } ?? .null),
                            ("expected_recall", segment.expectedRecall.map { .double($0) } ?? .null),
                            ("calibration_queries", segment.calibrationQueries.map { .int(Int64($0)) } ?? .null),
                            ("lists_walked", segment.listsWalked.map { .double($0) } ?? .null),
                        ])
                    })
            ),
        ])
    }

    static func printPlan(_ plan: SearchPlan) {
        let probing = plan.recallTarget.map { "recall target \($0)" } ?? plan.nprobeGiven.map { "nprobe \($0) given" } ?? "-"
        print("plan: filter \(plan.filter ?? "none"), \(plan.passingRows) rows pass, evaluated in \(plan.filterMicroseconds) µs, \(plan.exactRetries) exact retries, \(probing)")
        let rows = plan.segments.map { (segment) -> [String] in
            let expected = segment.expectedRecall.map { String(format: "%.3f", $0) } ?? "-"
            let calibration = segment.calibrationQueries.map { "\($0) queries" } ?? "-"
            let walked = segment.listsWalked.map { String(format: "%.1f", $0) } ?? "-"
            return [
                "  " + String(segment.id.rawValue), segment.phase.rawValue, String(segment.liveRows), String(segment.passingRows),
                segment.strategy.rawValue, segment.nprobe.map(String.init) ?? "-", walked, segment.nlist.map(String.init) ?? "-",
                expected, calibration,
            ]
        }
        print(
            Table.render(
                header: [
                    "  SEGMENT", "PHASE", "LIVE", "PASSING", "STRATEGY", "NPROBE", "WALKED", "NLIST", "EXPECTED RECALL", "CALIBRATION",
                ],
                rows: rows))
    }
}
