import QuiverCore

/// A filter expression parsed and type-checked against a collection's schema (docs/filters.md).
///
/// Semantics, fixed here so that every evaluator (the scan, the scalar indexes, the test
/// oracle) agrees:
/// - a comparison, `in`, `not in`, `like` or `contains…` on a null field is false;
///   `not` is plain negation, so `not (year == 2020)` matches a row whose `year` is null while
///   `year != 2020` does not;
/// - strings compare by their UTF-8 bytes (no Unicode normalization), so `<` is byte order;
/// - numbers compare by value; `-0.0 == 0.0`.
public indirect enum Filter: Sendable, Hashable, CustomStringConvertible {
    case and([Filter])
    case or([Filter])
    case not(Filter)
    /// `field op value`; the value has the field's type (integers are widened for `double`).
    case compare(FilterField, ComparisonOperator, FieldValue)
    /// `field in [...]`, or `not in` when `negated`.
    case oneOf(FilterField, [FieldValue], negated: Bool)
    /// `field like "prefix%"`.
    case prefix(FilterField, String)
    /// `tags contains "x"` (one value) and `contains_any(tags, [...])`.
    case containsAny(FilterField, [String])
    /// `contains_all(tags, [...])`.
    case containsAll(FilterField, [String])
    /// `field is null`, or `is not null` when `negated`.
    case isNull(FilterField, negated: Bool)

    /// Parses `expression` against `schema`.
    ///
    /// - Throws: `FilterError` naming the column and what was expected: syntax errors, unknown
    ///   fields, type mismatches, and expressions over the limits (`Limits.filterBytesMax`,
    ///   `filterDepthMax`, `filterListValuesMax`).
    public static func parse(_ expression: String, schema: CollectionSchema) throws(FilterError) -> Filter {
        guard expression.utf8.count <= Limits.filterBytesMax else {
            throw FilterError("the expression is \(expression.utf8.count) bytes, at most \(Limits.filterBytesMax) are allowed", column: 1)
        }
        var parser = FilterParser(tokens: try FilterLexer.tokenize(expression), schema: schema)
        return try parser.parseExpression()
    }

    /// The canonical form: fully parenthesized prefix notation, used by the data-driven tests
    /// and by `explain`. `(and (>= year 2020) (contains_any labels ["a"]))`.
    public var description: String {
        switch self {
        case .and(let children): "(and \(children.map(\.description).joined(separator: " ")))"
        case .or(let children): "(or \(children.map(\.description).joined(separator: " ")))"
        case .not(let child): "(not \(child))"
        case .compare(let field, let op, let value): "(\(op.rawValue) \(field.name) \(Self.literal(value)))"
        case .oneOf(let field, let values, let negated):
            "(\(negated ? "not-in" : "in") \(field.name) [\(values.map(Self.literal).joined(separator: " "))])"
        case .prefix(let field, let prefix): "(prefix \(field.name) \(FilterToken.quoted(prefix)))"
        case .containsAny(let field, let values): "(contains_any \(field.name) [\(values.map(FilterToken.quoted).joined(separator: " "))])"
        case .containsAll(let field, let values): "(contains_all \(field.name) [\(values.map(FilterToken.quoted).joined(separator: " "))])"
        case .isNull(let field, let negated): "(\(negated ? "is-not-null" : "is-null") \(field.name))"
        }
    }

    static func literal(_ value: FieldValue) -> String {
        switch value {
        case .null: "null"
        case .int64(let v): String(v)
        case .double(let v): String(v)
        case .bool(let v): String(v)
        case .string(let v): FilterToken.quoted(v)
        case .tags(let v): "[\(v.map(FilterToken.quoted).joined(separator: " "))]"
        }
    }
}

/// A field a filter refers to: its position in the schema (the order of stored values), name
/// and type.
public struct FilterField: Sendable, Hashable {
    public let index: Int
    public let name: String
    public let type: FieldType
}

public enum ComparisonOperator: String, Sendable, Hashable, CaseIterable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="

    var isOrdering: Bool { self != .equal && self != .notEqual }
}
