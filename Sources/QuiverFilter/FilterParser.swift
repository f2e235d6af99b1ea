import QuiverCore

/// Recursive descent over the tokens, type-checking against the schema as it goes:
///
///     expression := and ("or" and)*
///     and        := unary ("and" unary)*
///     unary      := "not" unary | primary
///     primary    := "(" expression ")"
///                 | ("contains_any" | "contains_all") "(" field "," list ")"
///                 | field ("==" | "!=" | "<" | "<=" | ">" | ">=") literal
///                 | field ["not"] "in" list
///                 | field "like" string
///                 | field "contains" string
///                 | field "is" ["not"] "null"
///     list       := "[" [literal ("," literal)*] "]"
///     literal    := integer | float | string | "true" | "false"
///
/// Keywords are all lowercase or all uppercase. Nesting (parentheses and `not`) is limited to
/// `Limits.filterDepthMax`, so hostile input cannot recurse deeply.
struct FilterParser {
    private let tokens: [FilterToken]
    private let schema: CollectionSchema
    private var position = 0
    private var depth = 0

    init(tokens: [FilterToken], schema: CollectionSchema) {
        self.tokens = tokens
        self.schema = schema
    }

    mutating func parseExpression() throws(FilterError) -> Filter {
        if peek.kind == .end { throw FilterError("the filter is empty", column: peek.column) }
        let filter = try parseOr()
        guard peek.kind == .end else {
            throw FilterError("expected \"and\", \"or\" or the end of the expression, found \(peek.display)", column: peek.column)
        }
        return filter
    }

    // MARK: Tokens

    private var peek: FilterToken { tokens[position] }

    private mutating func advance() -> FilterToken {
        defer { if position < tokens.count - 1 { position += 1 } }
        return tokens[position]
    }

    private func isKeyword(_ token: FilterToken, _ keyword: String) -> Bool {
        guard case .identifier(let name) = token.kind else { return false }
        return name == keyword || name == keyword.uppercased()
    }

    private mutating func acceptKeyword(_ keyword: String) -> Bool {
        guard isKeyword(peek, keyword) else { return false }
        position += 1
        return true
    }

    private mutating func expectSymbol(_ symbol: String, after: String) throws(FilterError) {
        guard peek.kind == .symbol(symbol) else {
            throw FilterError("expected \"\(symbol)\" \(after), found \(peek.display)", column: peek.column)
        }
        position += 1
    }

    private mutating func nest() throws(FilterError) {
        depth += 1
        guard depth <= Limits.filterDepthMax else {
            throw FilterError("the expression nests deeper than \(Limits.filterDepthMax) levels", column: peek.column)
        }
    }

    // MARK: Boolean structure

    private mutating func parseOr() throws(FilterError) -> Filter {
        var children = [try parseAnd()]
        while acceptKeyword("or") { children.append(try parseAnd()) }
        return children.count == 1 ? children[0] : .or(children.flatMap { if case .or(let inner) = $0 { inner } else { [$0] } })
    }

    private mutating func parseAnd() throws(FilterError) -> Filter {
        var children = [try parseUnary()]
        while acceptKeyword("and") { children.append(try parseUnary()) }
        return children.count == 1 ? children[0] : .and(children.flatMap { if case .and(let inner) = $0 { inner } else { [$0] } })
    }

    private mutating func parseUnary() throws(FilterError) -> Filter {
        guard acceptKeyword("not") else { return try parsePrimary() }
        try nest()
        defer { depth -= 1 }
        return .not(try parseUnary())
    }

    private mutating func parsePrimary() throws(FilterError) -> Filter {
        let token = peek
        if token.kind == .symbol("(") {
            position += 1
            try nest()
            defer { depth -= 1 }
            let inner = try parseOr()
            try expectSymbol(")", after: "to close the \"(\" at column \(token.column)")
            return inner
        }
        if isKeyword(token, "contains_any") || isKeyword(token, "contains_all") {
            return try parseTagFunction(all: isKeyword(token, "contains_all"))
        }
        guard case .identifier = token.kind else {
            throw FilterError("expected a field name, \"not\" or \"(\", found \(token.display)", column: token.column)
        }
        let field = try parseField()
        return try parseCondition(on: field)
    }

    // MARK: Conditions

    private mutating func parseField() throws(FilterError) -> FilterField {
        let token = advance()
        guard case .identifier(let name) = token.kind else {
            throw FilterError("expected a field name, found \(token.display)", column: token.column)
        }
        for keyword in ["and", "or", "not", "in", "like", "is", "null", "true", "false", "contains"] where isKeyword(token, keyword) {
            throw FilterError("expected a field name, found the keyword \(token.display)", column: token.column)
        }
        guard let index = schema.fields.firstIndex(where: { $0.name == name }) else {
            let known = schema.fields.isEmpty ? "the collection has no fields" : "fields: \(schema.fields.map(\.name).joined(separator: ", "))"
            throw FilterError("unknown field \"\(name)\" (\(known))", column: token.column)
        }
        return FilterField(index: index, name: name, type: schema.fields[index].type)
    }

    private mutating func parseCondition(on field: FilterField) throws(FilterError) -> Filter {
        let token = peek
        if case .symbol(let symbol) = token.kind, let op = ComparisonOperator(rawValue: symbol) {
            position += 1
            if field.type == .tags {
                throw FilterError(
                    "field \"\(field.name)\" is tags: use \"contains\", \"contains_any\" or \"contains_all\", not \"\(symbol)\"",
                    column: token.column)
            }
            if field.type == .bool, op.isOrdering {
                throw FilterError("field \"\(field.name)\" is bool: only \"==\" and \"!=\" apply, not \"\(symbol)\"", column: token.column)
            }
            return .compare(field, op, try parseValue(for: field, after: "after \"\(symbol)\""))
        }
        if isKeyword(token, "in") || isKeyword(token, "not") {
            position += 1
            let negated = isKeyword(token, "not")
            if negated, !acceptKeyword("in") {
                throw FilterError("expected \"in\" after \"not\", found \(peek.display)", column: peek.column)
            }
            if field.type == .tags {
                throw FilterError(
                    "field \"\(field.name)\" is tags: use \"contains_any\" or \"contains_all\", not \"\(negated ? "not in" : "in")\"",
                    column: token.column)
            }
            let values = try parseList { (parser) throws(FilterError) -> FieldValue in
                try parser.parseValue(for: field, after: "in a list")
            }
            return .oneOf(field, values, negated: negated)
        }
        if isKeyword(token, "like") {
            position += 1
            guard field.type == .string else {
                throw FilterError("field \"\(field.name)\" is \(field.type): \"like\" applies to string fields", column: token.column)
            }
            return try parsePattern(field)
        }
        if isKeyword(token, "contains") {
            position += 1
            guard field.type == .tags else {
                throw FilterError("field \"\(field.name)\" is \(field.type): \"contains\" applies to tags fields", column: token.column)
            }
            return .containsAny(field, [try parseString(after: "after \"contains\"")])
        }
        if isKeyword(token, "is") {
            position += 1
            let negated = acceptKeyword("not")
            guard acceptKeyword("null") else {
                throw FilterError("expected \"null\" after \"is\(negated ? " not" : "")\", found \(peek.display)", column: peek.column)
            }
            return .isNull(field, negated: negated)
        }
        throw FilterError(
            "expected an operator after field \"\(field.name)\" (==, !=, <, <=, >, >=, in, not in, like, contains, is null), found \(token.display)",
            column: token.column)
    }

    /// `like "abc%"`: a trailing `%` is the only wildcard; without one the pattern matches exactly.
    private mutating func parsePattern(_ field: FilterField) throws(FilterError) -> Filter {
        let token = peek
        let pattern = try parseString(after: "after \"like\"")
        var prefix = pattern
        let wildcard = prefix.hasSuffix("%")
        if wildcard { prefix.removeLast() }
        guard !prefix.contains("%") else {
            throw FilterError(
                "only prefix patterns are supported (\"abc%\"): \(FilterToken.quoted(pattern)) has \"%\" before its end",
                column: token.column)
        }
        return wildcard ? .prefix(field, prefix) : .compare(field, .equal, .string(prefix))
    }

    private mutating func parseTagFunction(all: Bool) throws(FilterError) -> Filter {
        let name = all ? "contains_all" : "contains_any"
        position += 1
        try expectSymbol("(", after: "after \"\(name)\"")
        let fieldToken = peek
        let field = try parseField()
        guard field.type == .tags else {
            throw FilterError("field \"\(field.name)\" is \(field.type): \"\(name)\" applies to tags fields", column: fieldToken.column)
        }
        try expectSymbol(",", after: "after the field of \"\(name)\"")
        let values = try parseList { (parser) throws(FilterError) -> String in try parser.parseString(after: "in a list of tags") }
        try expectSymbol(")", after: "to close \"\(name)(\"")
        return all ? .containsAll(field, values) : .containsAny(field, values)
    }

    // MARK: Values

    private mutating func parseList<T>(_ element: (inout FilterParser) throws(FilterError) -> T) throws(FilterError) -> [T] {
        try expectSymbol("[", after: "to start a list")
        var values: [T] = []
        if peek.kind == .symbol("]") {
            position += 1
            return values
        }
        while true {
            values.append(try element(&self))
            guard values.count <= Limits.filterListValuesMax else {
                throw FilterError("a list holds more than \(Limits.filterListValuesMax) values", column: peek.column)
            }
            if peek.kind == .symbol("]") {
                position += 1
                return values
            }
            try expectSymbol(",", after: "or \"]\" in a list")
        }
    }

    private mutating func parseString(after: String) throws(FilterError) -> String {
        let token = advance()
        guard case .string(let value) = token.kind else {
            throw FilterError("expected a string \(after), found \(token.display)", column: token.column)
        }
        return value
    }

    /// A literal of the field's type: integers for int64, any number for double, strings,
    /// true/false.
    private mutating func parseValue(for field: FilterField, after: String) throws(FilterError) -> FieldValue {
        let token = advance()
        if isKeyword(token, "null") {
            throw FilterError("null is not a value: use \"\(field.name) is null\" or \"is not null\"", column: token.column)
        }
        switch (field.type, token.kind) {
        case (.int64, .integer(let v)): return .int64(v)
        case (.double, .integer(let v)): return .double(Double(v))
        case (.double, .float(let v)): return .double(v)
        case (.string, .string(let v)): return .string(v)
        case (.bool, .identifier) where isKeyword(token, "true"): return .bool(true)
        case (.bool, .identifier) where isKeyword(token, "false"): return .bool(false)
        default:
            let expected =
                switch field.type {
                case .int64: "an integer"
                case .double: "a number"
                case .string: "a string"
                case .bool: "true or false"
                case .tags: "a string"
                }
            throw FilterError(
                "field \"\(field.name)\" is \(field.type): expected \(expected) \(after), found \(token.display)", column: token.column)
        }
    }
}
