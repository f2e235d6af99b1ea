import QuiverCore

/// One token of a filter expression, with the column (1-based, in Unicode scalars) it starts at.
struct FilterToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case identifier(String)
        case integer(Int64)
        case float(Double)
        case string(String)
        case symbol(String)
        case end
    }

    let kind: Kind
    let column: Int

    /// How an error message names the token.
    var display: String {
        switch kind {
        case .identifier(let name): "\"\(name)\""
        case .integer(let value): String(value)
        case .float(let value): String(value)
        case .string(let value): FilterToken.quoted(value)
        case .symbol(let symbol): "\"\(symbol)\""
        case .end: "the end of the expression"
        }
    }

    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Splits a filter expression into tokens. Errors name the column and what was expected.
struct FilterLexer {
    private let scalars: [Unicode.Scalar]
    private var position = 0

    init(_ expression: String) {
        scalars = Array(expression.unicodeScalars)
    }

    static func tokenize(_ expression: String) throws(FilterError) -> [FilterToken] {
        var lexer = FilterLexer(expression)
        var tokens: [FilterToken] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private mutating func next() throws(FilterError) -> FilterToken {
        while position < scalars.count, scalars[position].properties.isWhitespace { position += 1 }
        let column = position + 1
        guard position < scalars.count else { return FilterToken(kind: .end, column: column) }
        let c = scalars[position]
        if c == "_" || c.properties.isAlphabetic && c.isASCII {
            let start = position
            while position < scalars.count, scalars[position] == "_" || scalars[position].isASCII && scalars[position].properties.isAlphabetic
                || ("0"..."9").contains(scalars[position])
            {
                position += 1
            }
            return FilterToken(kind: .identifier(String(String.UnicodeScalarView(scalars[start..<position]))), column: column)
        }
        if ("0"..."9").contains(c) || c == "-" || c == "." && position + 1 < scalars.count && ("0"..."9").contains(scalars[position + 1]) {
            return try number(column: column)
        }
        if c == "\"" { return try string(column: column) }
        for symbol in ["==", "!=", "<=", ">="] where matches(symbol) {
            position += 2
            return FilterToken(kind: .symbol(symbol), column: column)
        }
        if "<>()[],".unicodeScalars.contains(c) {
            position += 1
            return FilterToken(kind: .symbol(String(c)), column: column)
        }
        if c == "=" {
            throw FilterError("\"=\" is not an operator; use \"==\"", column: column)
        }
        throw FilterError("unexpected character \(FilterToken.quoted(String(c)))", column: column)
    }

    private func matches(_ symbol: String) -> Bool {
        let wanted = Array(symbol.unicodeScalars)
        guard position + wanted.count <= scalars.count else { return false }
        return Array(scalars[position..<(position + wanted.count)]) == wanted
    }

    /// Integers (`-12`) and floats (`1.5`, `-2e-3`, `.5`).
    private mutating func number(column: Int) throws(FilterError) -> FilterToken {
        let start = position
        if scalars[position] == "-" { position += 1 }
        var digits = 0
        var isFloat = false
        while position < scalars.count, ("0"..."9").contains(scalars[position]) { position += 1; digits += 1 }
        if position < scalars.count, scalars[position] == "." {
            isFloat = true
            position += 1
            while position < scalars.count, ("0"..."9").contains(scalars[position]) { position += 1; digits += 1 }
        }
        guard digits > 0 else { throw FilterError("expected a number after \"-\"", column: column) }
        if position < scalars.count, scalars[position] == "e" || scalars[position] == "E" {
            isFloat = true
            position += 1
            if position < scalars.count, scalars[position] == "+" || scalars[position] == "-" { position += 1 }
            var exponentDigits = 0
            while position < scalars.count, ("0"..."9").contains(scalars[position]) { position += 1; exponentDigits += 1 }
            guard exponentDigits > 0 else { throw FilterError("expected digits in the exponent", column: position + 1) }
        }
        if position < scalars.count, scalars[position] == "_" || scalars[position].properties.isAlphabetic {
            throw FilterError("unexpected character \(FilterToken.quoted(String(scalars[position]))) in a number", column: position + 1)
        }
        let text = String(String.UnicodeScalarView(scalars[start..<position]))
        if isFloat {
            guard let value = Double(text), value.isFinite else { throw FilterError("number \(text) is out of range", column: column) }
            return FilterToken(kind: .float(value), column: column)
        }
        guard let value = Int64(text) else { throw FilterError("integer \(text) is out of the int64 range", column: column) }
        return FilterToken(kind: .integer(value), column: column)
    }

    /// A double-quoted string with `\"`, `\\`, `\n`, `\t`, `\r` and `\uXXXX` escapes.
    private mutating func string(column: Int) throws(FilterError) -> FilterToken {
        position += 1
        var value = String.UnicodeScalarView()
        while true {
            guard position < scalars.count else { throw FilterError("unterminated string", column: column) }
            let c = scalars[position]
            position += 1
            if c == "\"" { return FilterToken(kind: .string(String(value)), column: column) }
            guard c == "\\" else {
                value.append(c)
                continue
            }
            guard position < scalars.count else { throw FilterError("unterminated string", column: column) }
            let escape = scalars[position]
            position += 1
            switch escape {
            case "\"": value.append("\"")
            case "\\": value.append("\\")
            case "n": value.append("\n")
            case "t": value.append("\t")
            case "r": value.append("\r")
            case "u":
                guard position + 4 <= scalars.count,
                    let code = UInt32(String(String.UnicodeScalarView(scalars[position..<(position + 4)])), radix: 16),
                    let scalar = Unicode.Scalar(code)
                else {
                    throw FilterError("expected 4 hex digits of a Unicode scalar after \"\\u\"", column: position - 1)
                }
                position += 4
                value.append(scalar)
            default:
                throw FilterError(
                    "unknown escape \"\\\(escape)\" (expected \\\", \\\\, \\n, \\t, \\r or \\uXXXX)", column: position - 1)
            }
        }
    }
}
