import Foundation
import QuiverCore
import QuiverTesting
import Testing

@testable import QuiverEngine

/// Data-driven planner tests: `testdata/plan.txt` holds blocks of a request, its segments (phase,
/// rows, live and passing rows, nlist, template generation), a `----` line and the strategy (and
/// nprobe) chosen for each segment, as the parser's tests hold expressions and their canonical
/// forms. Run with `QUIVER_REWRITE_TESTDATA=1` to rewrite the expectations from the planner's
/// choices (then read the diff before committing it).
@Suite struct PlannerTests {
    static let testdata = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("testdata")

    struct Case {
        var input: [String]
        var expected: String
    }

    struct Request {
        var k = 10
        var nprobe: Int?
        var recall: Double?
        var collectionNprobe: Int?
        var collectionRecall: Double?
        var settings = PlannerSettings()

        var probing: SearchPlanner.Probing {
            .resolve(
                requestedNprobe: nprobe, requestedRecall: recall,
                collection: IndexSettings(nprobe: collectionNprobe, recallTarget: collectionRecall))
        }
    }

    enum CaseError: Error, CustomStringConvertible {
        case malformed(String)
        var description: String {
            switch self {
            case .malformed(let line): "malformed line: \(line)"
            }
        }
    }

    static func text() throws -> String { try String(contentsOf: testdata.appendingPathComponent("plan.txt"), encoding: .utf8) }

    /// The calibrations the file declares: a block whose first line is `calibration NAME
    /// nprobes=P1,P2,…` and whose other lines are `depth=D R1 R2 …` (recall in 1/10,000ths).
    static func calibrations() throws -> [String: RecallCalibration] {
        var found: [String: RecallCalibration] = [:]
        for block in try text().components(separatedBy: "\n\n") {
            let lines = block.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
            guard let first = lines.first, first.hasPrefix("calibration ") else { continue }
            let words = first.split(separator: " ")
            guard words.count == 3, words[2].hasPrefix("nprobes=") else { throw CaseError.malformed(first) }
            let nprobes = try words[2].dropFirst("nprobes=".count).split(separator: ",").map { (word) throws -> Int in
                guard let value = Int(word) else { throw CaseError.malformed(first) }
                return value
            }
            var depths: [Int] = []
            var recall: [[Int]] = []
            // `walk=BUDGET depth=D R1 R2 …` lines: the walk tables, budget by budget, each
            // listing the same depths as the plain curve.
            var walkBudgets: [Double] = []
            var walkRecall: [[[Int]]] = []
            for line in lines.dropFirst() {
                var words = line.split(separator: " ")[...]
                var budget: Double?
                if let first = words.first, first.hasPrefix("walk=") {
                    guard let value = Double(first.dropFirst(5)) else { throw CaseError.malformed(line) }
                    budget = value
                    words = words.dropFirst()
                }
                guard let depth = words.first.flatMap({ $0.hasPrefix("depth=") ? Int($0.dropFirst(6)) : nil }) else {
                    throw CaseError.malformed(line)
                }
                let row = try words.dropFirst().map { (word) throws -> Int in
                    guard let value = Int(word) else { throw CaseError.malformed(line) }
                    return value
                }
                guard let budget else {
                    depths.append(depth)
                    recall.append(row)
                    continue
                }
                if walkBudgets.last != budget {
                    walkBudgets.append(budget)
                    walkRecall.append([])
                }
                guard depths.indices.contains(walkRecall[walkRecall.count - 1].count),
                    depths[walkRecall[walkRecall.count - 1].count] == depth
                else { throw CaseError.malformed(line) }
                walkRecall[walkRecall.count - 1].append(row)
            }
            let calibration = RecallCalibration(
                queries: 100, depths: depths, nprobes: nprobes, recall: recall, walkBudgets: walkBudgets.isEmpty ? nil : walkBudgets,
                walkRecall: walkRecall.isEmpty ? nil : walkRecall)
            guard calibration.isValid else { throw CaseError.malformed(first) }
            found[String(words[1])] = calibration
        }
        return found
    }

    static func cases() throws -> [Case] {
        let text = try text()
        var cases: [Case] = []
        for block in text.components(separatedBy: "\n\n").map({ $0.trimmingCharacters(in: .newlines) }) {
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.hasPrefix("#") }
            guard let separator = lines.firstIndex(of: "----") else { continue }
            cases.append(Case(input: Array(lines[..<separator]), expected: lines[(separator + 1)...].joined(separator: "\n")))
        }
        return cases
    }

    /// `key=value` pairs of a line after its first word.
    static func pairs(_ words: ArraySlice<Substring>, line: String) throws -> [String: String] {
        var pairs: [String: String] = [:]
        for word in words {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw CaseError.malformed(line) }
            pairs[parts[0]] = parts[1]
        }
        return pairs
    }

    static func parse(_ input: [String], calibrations: [String: RecallCalibration]) throws -> (Request, [SearchPlanner.SegmentFacts]) {
        guard let first = input.first else { throw CaseError.malformed("(empty case)") }
        let words = first.split(separator: " ")
        let options = try pairs(words[...], line: first)
        var request = Request()
        func number(_ key: String, _ pairs: [String: String], line: String) throws -> Int? {
            guard let text = pairs[key] else { return nil }
            guard let value = Int(text) else { throw CaseError.malformed(line) }
            return value
        }
        func real(_ key: String) throws -> Double? {
            guard let text = options[key] else { return nil }
            guard let value = text == "inf" ? Double.infinity : Double(text) else { throw CaseError.malformed(first) }
            return value
        }
        request.k = try number("k", options, line: first) ?? 10
        request.nprobe = try number("nprobe", options, line: first)
        request.collectionNprobe = try number("default", options, line: first)
        request.recall = try real("recall")
        request.collectionRecall = try real("default-recall")
        let defaults = PlannerSettings()
        request.settings = PlannerSettings(
            gatherCost: try real("gather") ?? defaults.gatherCost, exactRowsShareMax: try real("share") ?? defaults.exactRowsShareMax,
            passingPerHitMin: try number("perhit", options, line: first) ?? defaults.passingPerHitMin,
            walkLift: try real("lift") ?? defaults.walkLift)
        var segments: [SearchPlanner.SegmentFacts] = []
        for line in input.dropFirst() {
            let words = line.split(separator: " ")
            guard let phase = words.first.flatMap({ SegmentPhase(rawValue: String($0)) }) else { throw CaseError.malformed(line) }
            let fields = try pairs(words.dropFirst(), line: line)
            guard let rows = try number("rows", fields, line: line) else { throw CaseError.malformed(line) }
            let storage: SearchPlanner.SegmentFacts.Storage
            switch phase {
            case .growing, .sealed, .indexing: storage = .exact
            case .indexed:
                guard let nlist = try number("nlist", fields, line: line) else { throw CaseError.malformed(line) }
                storage = .indexed(nlist: nlist, generation: UInt32(try number("gen", fields, line: line) ?? 0))
            case .dropped: throw CaseError.malformed(line)
            }
            var calibration: RecallCalibration?
            if let name = fields["cal"] {
                guard let named = calibrations[name] else { throw CaseError.malformed(line) }
                calibration = named
            }
            segments.append(
                SearchPlanner.SegmentFacts(
                    storage: storage, rows: rows, live: try number("live", fields, line: line) ?? rows,
                    passing: try number("passing", fields, line: line), calibration: calibration))
        }
        // A filter applies to every segment or to none.
        if segments.contains(where: { $0.passing != nil }) {
            for i in segments.indices where segments[i].passing == nil { segments[i].passing = segments[i].live }
        }
        return (request, segments)
    }

    static func output(_ input: [String]) -> String {
        do {
            let (request, segments) = try parse(input, calibrations: try calibrations())
            let choices = SearchPlanner.choose(segments, k: request.k, probing: request.probing, settings: request.settings)
            return choices.map { choice in
                var line = choice.strategy.rawValue
                if let nprobe = choice.nprobe { line += " nprobe=\(nprobe)" }
                if let recall = choice.expectedRecall { line += " recall=" + String(format: "%.4f", recall) }
                if choice.fewerShare > 0 { line += " fewer=" + String(format: "%.3f", choice.fewerShare) }
                if let walk = choice.walk {
                    line += " walk=\(walk.listsMin)-\(walk.listsPlanned) share=" + String(format: "%.4f", walk.share)
                        + " misses=" + String(format: "%.3f", walk.missBudget) + " hits=" + String(format: "%.2f", walk.hits)
                }
                return line
            }.joined(separator: "\n")
        } catch {
            return "error: \(error)"
        }
    }

    /// The queries that probe one list fewer: about the share asked for, and a query is chosen
    /// the same way alone as in a batch (so repeating it repeats its hits).
    @Test func aShareOfTheQueriesProbesOneListFewer() {
        var rng = SeededRandom(seed: 4)
        let dimension = 16
        let queries = (0..<(2_000 * dimension)).map { _ in Float.random(in: -1...1, using: &rng) }
        for share in [0.1, 0.5, 0.9] {
            let chosen = SearchPlanner.fewerQueries(queries, dimension: dimension, share: share)
            #expect(abs(Double(chosen.count) / 2_000 - share) < 0.04, "share \(share): \(chosen.count) of 2,000")
            let alone = (0..<50).filter { q in
                !SearchPlanner.fewerQueries(Array(queries[(q * dimension)..<((q + 1) * dimension)]), dimension: dimension, share: share).isEmpty
            }
            #expect(alone == chosen.filter { $0 < 50 })
        }
    }

    @Test func choosesAsRecorded() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 25, "plan.txt has \(cases.count) cases")
        if ProcessInfo.processInfo.environment["QUIVER_REWRITE_TESTDATA"] != nil {
            let url = Self.testdata.appendingPathComponent("plan.txt")
            let original = try String(contentsOf: url, encoding: .utf8)
            // Keep every comment and request; replace what follows each "----".
            var blocks: [String] = []
            for block in original.components(separatedBy: "\n\n") {
                let lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                guard let separator = lines.firstIndex(of: "----") else {
                    blocks.append(block)
                    continue
                }
                let input = lines[..<separator].filter { !$0.hasPrefix("#") }
                blocks.append((lines[...separator] + [Self.output(Array(input))]).joined(separator: "\n"))
            }
            try (blocks.joined(separator: "\n\n").trimmingCharacters(in: .newlines) + "\n").write(to: url, atomically: true, encoding: .utf8)
            return
        }
        for c in cases {
            #expect(Self.output(c.input) == c.expected, "case:\n\(c.input.joined(separator: "\n"))")
        }
    }
}
