import Foundation
import QuiverCore
import QuiverFilter
import QuiverTesting
import Testing

/// Data-driven parser tests: `testdata/parse.txt` holds blocks of an expression, a `----` line and
/// either its canonical form or `error: <message> at column N`. Run with
/// `QUIVER_REWRITE_TESTDATA=1` to rewrite the expectations from the parser's output (then read the
/// diff before committing it).
@Suite struct FilterParserTests {
    static let schema = CollectionSchema(
        name: "docs", dimension: 4, metric: .l2,
        fields: [
            FieldSchema(name: "year", type: .int64), FieldSchema(name: "price", type: .double),
            FieldSchema(name: "name", type: .string), FieldSchema(name: "flag", type: .bool),
            FieldSchema(name: "labels", type: .tags), FieldSchema(name: "note", type: .string),
        ])

    static let testdata = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("testdata")

    struct Case {
        var input: String
        var expected: String
    }

    static func cases(_ file: String) throws -> [Case] {
        let text = try String(contentsOf: testdata.appendingPathComponent(file), encoding: .utf8)
        var cases: [Case] = []
        for block in text.components(separatedBy: "\n\n").map({ $0.trimmingCharacters(in: .newlines) }) {
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.hasPrefix("#") }
            guard let separator = lines.firstIndex(of: "----") else { continue }
            cases.append(Case(input: lines[..<separator].joined(separator: "\n"), expected: lines[(separator + 1)...].joined(separator: "\n")))
        }
        return cases
    }

    static func output(_ input: String) -> String {
        do {
            return try Filter.parse(input, schema: schema).description
        } catch {
            return "error: \(error)"
        }
    }

    @Test(arguments: ["parse.txt"])
    func parsesAsRecorded(file: String) throws {
        let cases = try Self.cases(file)
        #expect(cases.count >= 50, "\(file) has \(cases.count) cases")
        if ProcessInfo.processInfo.environment["QUIVER_REWRITE_TESTDATA"] != nil {
            let original = try String(contentsOf: Self.testdata.appendingPathComponent(file), encoding: .utf8)
            let header = original.split(separator: "\n", omittingEmptySubsequences: false).prefix { $0.hasPrefix("#") }
            let text = header.map { $0 + "\n" }.joined() + "\n"
                + cases.map { "\($0.input)\n----\n\(Self.output($0.input))" }.joined(separator: "\n\n") + "\n"
            try text.write(to: Self.testdata.appendingPathComponent(file), atomically: true, encoding: .utf8)
            return
        }
        for c in cases {
            #expect(Self.output(c.input) == c.expected, "input: \(c.input)")
        }
    }

    /// The canonical form parses back to the same filter (it is itself valid input, modulo
    /// notation): checked by re-parsing the valid inputs with extra parentheses and spaces.
    @Test func redundantParenthesesAndSpacingDoNotMatter() throws {
        for c in try Self.cases("parse.txt") where !c.expected.hasPrefix("error:") {
            let wrapped = "( \t(\(c.input))  )"
            #expect(Self.output(wrapped) == c.expected, "input: \(wrapped)")
        }
    }

    @Test func limitsHoldAgainstHostileInput() throws {
        let deep = String(repeating: "(", count: 10_000) + "year == 1" + String(repeating: ")", count: 10_000)
        #expect(Self.output(deep).hasPrefix("error: the expression nests deeper than 64 levels"))
        let nots = String(repeating: "not ", count: 10_000) + "year == 1"
        #expect(Self.output(nots).hasPrefix("error: the expression nests deeper than 64 levels"))
        let wide = (0..<3_000).map { "year == \($0)" }.joined(separator: " or ")
        #expect(!Self.output(wide).hasPrefix("error"), "a long flat chain is fine")
        let long = "name == \"" + String(repeating: "x", count: Limits.filterBytesMax) + "\""
        #expect(Self.output(long).hasPrefix("error: the expression is"))
        let list = "year in [" + (0...Limits.filterListValuesMax).map(String.init).joined(separator: ",") + "]"
        #expect(Self.output(list).hasPrefix("error: a list holds more than 4096 values"))
        let at63 = String(repeating: "(", count: 63) + "year == 1" + String(repeating: ")", count: 63)
        #expect(!Self.output(at63).hasPrefix("error"))
    }
}
