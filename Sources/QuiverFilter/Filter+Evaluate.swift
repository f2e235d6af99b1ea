import QuiverCore

extension Filter {
    /// Whether a row whose field values (in schema order) are `values` passes, with the
    /// semantics documented on `Filter`. A row-at-a-time evaluator: the reference the faster
    /// evaluators are tested against.
    public func matches(_ values: [FieldValue]) -> Bool {
        switch self {
        case .and(let children): return children.allSatisfy { $0.matches(values) }
        case .or(let children): return children.contains { $0.matches(values) }
        case .not(let child): return !child.matches(values)
        case .compare(let field, let op, let literal):
            guard let order = Self.order(values[field.index], literal) else { return false }
            switch op {
            case .equal: return order == 0
            case .notEqual: return order != 0
            case .less: return order < 0
            case .lessOrEqual: return order <= 0
            case .greater: return order > 0
            case .greaterOrEqual: return order >= 0
            }
        case .oneOf(let field, let literals, let negated):
            let value = values[field.index]
            if value == .null { return false }
            let found = literals.contains { Self.order(value, $0) == 0 }
            return found != negated
        case .prefix(let field, let prefix):
            guard case .string(let value) = values[field.index] else { return false }
            return value.utf8.starts(with: prefix.utf8)
        case .containsAny(let field, let wanted):
            guard case .tags(let tags) = values[field.index] else { return false }
            return wanted.contains { w in tags.contains { $0.utf8.elementsEqual(w.utf8) } }
        case .containsAll(let field, let wanted):
            guard case .tags(let tags) = values[field.index] else { return false }
            return wanted.allSatisfy { w in tags.contains { $0.utf8.elementsEqual(w.utf8) } }
        case .isNull(let field, let negated):
            return (values[field.index] == .null) != negated
        }
    }

    /// -1, 0 or 1 comparing a stored value with a literal of its field's type; `nil` when the
    /// stored value is null (every comparison with null is false).
    static func order(_ value: FieldValue, _ literal: FieldValue) -> Int? {
        switch (value, literal) {
        case (.int64(let a), .int64(let b)): return a < b ? -1 : a == b ? 0 : 1
        case (.double(let a), .double(let b)): return a < b ? -1 : a == b ? 0 : 1
        case (.bool(let a), .bool(let b)): return a == b ? 0 : (!a && b ? -1 : 1)
        case (.string(let a), .string(let b)):
            if a.utf8.elementsEqual(b.utf8) { return 0 }
            return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
        default: return nil
        }
    }
}
