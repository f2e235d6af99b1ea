import QuiverCore

/// Random filter expressions over a fixed set of fields, each with a plain Swift predicate of the
/// documented semantics (docs/filters.md), and random rows for them: the oracle of the filter
/// tests, independent of the parser and of every evaluator.
public enum FilterGenerator {
    public typealias Row = [FieldValue]
    public typealias Predicate = @Sendable (Row) -> Bool

    /// The fields the expressions use, in this order in every row.
    public static let fields = [
        FieldSchema(name: "year", type: .int64), FieldSchema(name: "price", type: .double),
        FieldSchema(name: "name", type: .string), FieldSchema(name: "flag", type: .bool),
        FieldSchema(name: "labels", type: .tags), FieldSchema(name: "note", type: .string),
    ]

    public static let names = ["ant", "bee", "bee2", "cat", "", "é", "zz"]
    public static let tagWords = ["a", "b", "c", "d"]

    public static func randomRow(_ rng: inout SeededRandom) -> Row {
        func maybe(_ value: FieldValue) -> FieldValue { Int.random(in: 0..<6, using: &rng) == 0 ? .null : value }
        return [
            maybe(.int64(Int64.random(in: -3...3, using: &rng))),
            maybe(.double(Double(Int.random(in: -4...4, using: &rng)) / 2)),
            maybe(.string(names.randomElement(using: &rng)!)),
            maybe(.bool(Bool.random(using: &rng))),
            // Sometimes a tag twice: posting lists must still hold the row once.
            maybe(.tags(tagWords.filter { _ in Bool.random(using: &rng) } + (Int.random(in: 0..<8, using: &rng) == 0 ? ["b"] : []))),
            maybe(.string(names.randomElement(using: &rng)!)),
        ]
    }

    static func quoted(_ s: String) -> String { "\"" + s + "\"" }

    @Sendable static func compare<T: Comparable & Sendable>(_ a: T, _ op: String, _ b: T) -> Bool {
        switch op {
        case "==": a == b
        case "!=": a != b
        case "<": a < b
        case "<=": a <= b
        case ">": a > b
        default: a >= b
        }
    }

    /// One condition on one field: its text and its predicate.
    public static func condition(_ rng: inout SeededRandom) -> (String, Predicate) {
        let ops = ["==", "!=", "<", "<=", ">", ">="]
        switch Int.random(in: 0..<9, using: &rng) {
        case 0:
            let op = ops.randomElement(using: &rng)!
            let v = Int64.random(in: -3...3, using: &rng)
            return ("year \(op) \(v)", { if case .int64(let x) = $0[0] { Self.compare(x, op, v) } else { false } })
        case 1:
            let op = ops.randomElement(using: &rng)!
            let v = Double(Int.random(in: -4...4, using: &rng)) / 2
            return ("price \(op) \(v)", { if case .double(let x) = $0[1] { Self.compare(x, op, v) } else { false } })
        case 2:
            let op = ops.randomElement(using: &rng)!
            let v = names.randomElement(using: &rng)!
            let field = Bool.random(using: &rng) ? 2 : 5
            return ("\(field == 2 ? "name" : "note") \(op) \(quoted(v))", {
                if case .string(let x) = $0[field] { Self.compare(Array(x.utf8).lexicographicallyPrecedes(v.utf8) ? -1 : (x == v ? 0 : 1), op, 0) } else { false }
            })
        case 3:
            let op = Bool.random(using: &rng) ? "==" : "!="
            let v = Bool.random(using: &rng)
            return ("flag \(op) \(v)", { if case .bool(let x) = $0[3] { op == "==" ? x == v : x != v } else { false } })
        case 4:
            let values = (0..<Int.random(in: 0...3, using: &rng)).map { _ in Int64.random(in: -3...3, using: &rng) }
            let negated = Bool.random(using: &rng)
            return ("year \(negated ? "not in" : "in") [\(values.map(String.init).joined(separator: ", "))]", {
                if case .int64(let x) = $0[0] { values.contains(x) != negated } else { false }
            })
        case 5:
            let prefix = ["", "b", "be", "bee", "c", "x"].randomElement(using: &rng)!
            return ("name like \(quoted(prefix + "%"))", { if case .string(let x) = $0[2] { x.hasPrefix(prefix) } else { false } })
        case 6:
            let values = (0..<Int.random(in: 1...3, using: &rng)).map { _ in tagWords.randomElement(using: &rng)! }
            let all = Bool.random(using: &rng)
            let text =
                values.count == 1 && Bool.random(using: &rng)
                ? "labels contains \(quoted(values[0]))"
                : "\(all ? "contains_all" : "contains_any")(labels, [\(values.map(quoted).joined(separator: ", "))])"
            let any = text.hasPrefix("labels contains") || !all
            return (text, {
                guard case .tags(let tags) = $0[4] else { return false }
                return any ? values.contains { tags.contains($0) } : values.allSatisfy { tags.contains($0) }
            })
        default:
            let field = Int.random(in: 0..<6, using: &rng)
            let negated = Bool.random(using: &rng)
            let name = fields[field].name
            return ("\(name) is \(negated ? "not " : "")null", { ($0[field] == .null) != negated })
        }
    }

    /// A random expression of at most `depth` levels, with its predicate.
    public static func expression(_ rng: inout SeededRandom, depth: Int) -> (String, Predicate) {
        guard depth > 0, Int.random(in: 0..<3, using: &rng) > 0 else { return condition(&rng) }
        switch Int.random(in: 0..<3, using: &rng) {
        case 0:
            let (text, p) = expression(&rng, depth: depth - 1)
            return ("not (\(text))", { !p($0) })
        default:
            let isAnd = Bool.random(using: &rng)
            let parts = (0..<Int.random(in: 2...3, using: &rng)).map { _ in expression(&rng, depth: depth - 1) }
            let text = parts.map { "(\($0.0))" }.joined(separator: isAnd ? " and " : " or ")
            let predicates = parts.map(\.1)
            return (text, { row in isAnd ? predicates.allSatisfy { $0(row) } : predicates.contains { $0(row) } })
        }
    }

    /// A row as the record fields a `Record` carries (nulls left out).
    public static func recordFields(_ row: Row) -> [String: FieldValue] {
        var result: [String: FieldValue] = [:]
        for (field, value) in zip(fields, row) where value != .null { result[field.name] = value }
        return result
    }
}
