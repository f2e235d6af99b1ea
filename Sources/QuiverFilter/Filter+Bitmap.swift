import Algorithms
import QuiverCore

extension Filter {
    /// The rows of `0..<count` that pass, evaluated over a growing or sealed segment's columns by
    /// visiting every row (the columns are still being appended to and have no indexes).
    public func rows(in columns: FieldColumns, count: Int) -> RowBitmap {
        precondition(count <= columns.count)
        return BitmapEvaluator(columns: columns.columns, indexes: nil, count: count).evaluate(self)
    }

    /// The rows that pass, evaluated through a frozen segment's indexes: the cost follows the
    /// rows each leaf matches rather than the segment's size.
    public func rows(in fields: SegmentFields) -> RowBitmap {
        BitmapEvaluator(columns: fields.columns.columns, indexes: fields.indexes, count: fields.count).evaluate(self)
    }
}

/// Evaluates a filter bottom-up into row bitmaps, with the semantics of `Filter.matches` (which
/// the tests hold it to): null never passes a comparison, `not` is the complement.
private struct BitmapEvaluator {
    let columns: [FieldColumn]
    let indexes: [FieldIndex]?
    let count: Int

    func evaluate(_ filter: Filter) -> RowBitmap {
        switch filter {
        case .and(let children):
            var result = evaluate(children[0])
            for child in children.dropFirst() {
                if result.isEmpty { break }
                result.formIntersection(evaluate(child))
            }
            return result
        case .or(let children):
            var result = evaluate(children[0])
            for child in children.dropFirst() { result.formUnion(evaluate(child)) }
            return result
        case .not(let child):
            return evaluate(child).complemented()
        case .isNull(let field, let negated):
            let nulls = nullRows(field.index)
            return negated ? nulls.complemented() : nulls
        case .compare(let field, .notEqual, let literal):
            var result = nullRows(field.index).complemented()
            result.subtract(compare(field.index, .equal, literal))
            return result
        case .compare(let field, let op, let literal):
            return compare(field.index, op, literal)
        case .oneOf(let field, let literals, let negated):
            var matched = RowBitmap(count: count)
            let column = columns[field.index]
            switch column.type {
            case .int64, .double:
                if indexes == nil {
                    matched = scanNumbers(column) { value in literals.contains { Filter.order(value, $0) == 0 } }
                } else {
                    for literal in literals { matched.formUnion(compare(field.index, .equal, literal)) }
                }
            default:
                matched = rows(field.index, codes: literals.compactMap { code(of: $0, in: column) })
            }
            guard negated else { return matched }
            var result = nullRows(field.index).complemented()
            result.subtract(matched)
            return result
        case .prefix(let field, let prefix):
            let column = columns[field.index]
            let bytes = Array(prefix.utf8)
            if indexes != nil {
                let first = column.dictionary.lowerBound(bytes)
                var end = first
                // Strings with the prefix are one run of the sorted dictionary.
                var high = column.dictionary.count
                while end < high {
                    let mid = (end + high) / 2
                    if column.dictionary.strings[mid].starts(with: bytes) { end = mid + 1 } else { high = mid }
                }
                return rows(field.index, codeRange: first..<end)
            }
            return rows(field.index, codes: column.dictionary.codes { $0.starts(with: bytes) })
        case .containsAny(let field, let wanted):
            let column = columns[field.index]
            return rows(field.index, codes: wanted.compactMap { column.dictionary.code(of: $0) })
        case .containsAll(let field, let wanted):
            let column = columns[field.index]
            let codes = wanted.map { column.dictionary.code(of: $0) }
            guard !codes.contains(nil) else { return RowBitmap(count: count) }
            let wantedCodes = Set(codes.map { $0! })
            if indexes != nil {
                // Start from the rows with a value: `contains_all(f, [])` holds for every row
                // with tags, an empty list included, and for no null row (the fuzzer found this
                // path returning the null rows too).
                var result = RowBitmap.all(count)
                result.subtract(nullRows(field.index))
                for code in wantedCodes { result.formIntersection(rows(field.index, codes: [code])) }
                return result
            }
            var result = RowBitmap(count: count)
            for row in 0..<count where !column.isNull(row) {
                let range = column.tagRange(row)
                if wantedCodes.allSatisfy({ code in column.codes[range].contains(code) }) { result.insert(row) }
            }
            return result
        }
    }

    // MARK: Leaves

    func nullRows(_ field: Int) -> RowBitmap {
        var result = RowBitmap(count: count)
        result.insert(contentsOf: columns[field].nulls.rows.lazy.filter { $0 < count })
        return result
    }

    /// A comparison other than `!=` (which is its complement among non-null rows).
    func compare(_ field: Int, _ op: ComparisonOperator, _ literal: FieldValue) -> RowBitmap {
        let column = columns[field]
        switch column.type {
        case .int64, .double:
            if let indexes { return rangeRows(column, indexes[field].order, op, literal) }
            return scanNumbers(column) { value in
                guard let order = Filter.order(value, literal) else { return false }
                return Self.satisfies(order, op)
            }
        case .bool:
            let codes = [UInt32(0), 1].filter { Self.satisfies(Filter.order(.bool($0 == 1), literal) ?? 2, op) }
            return rows(field, codes: codes)
        case .string, .tags:
            guard case .string(let string) = literal else { return RowBitmap(count: count) }
            let bytes = Array(string.utf8)
            if indexes != nil {
                let dictionary = column.dictionary
                let below = dictionary.lowerBound(bytes)
                let through = dictionary.lowerBound(bytes, strictlyAbove: true)
                let range: Range<Int> =
                    switch op {
                    case .equal: below..<through
                    case .less: 0..<below
                    case .lessOrEqual: 0..<through
                    case .greater: through..<dictionary.count
                    case .greaterOrEqual: below..<dictionary.count
                    case .notEqual: preconditionFailure("!= is evaluated as a complement")
                    }
                return rows(field, codeRange: range)
            }
            if op == .equal { return rows(field, codes: column.dictionary.code(of: string).map { [$0] } ?? []) }
            return rows(field, codes: column.dictionary.codes { Self.satisfies(Self.order($0, bytes), op) })
        }
    }

    static func satisfies(_ order: Int, _ op: ComparisonOperator) -> Bool {
        switch op {
        case .equal: order == 0
        case .notEqual: order != 0 && order != 2
        case .less: order < 0
        case .lessOrEqual: order <= 0
        case .greater: order == 1
        case .greaterOrEqual: order == 0 || order == 1
        }
    }

    static func order(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a == b { return 0 }
        return a.lexicographicallyPrecedes(b) ? -1 : 1
    }

    func code(of literal: FieldValue, in column: FieldColumn) -> UInt32? {
        switch literal {
        case .bool(let v): v ? 1 : 0
        case .string(let s): column.dictionary.code(of: s)
        default: nil
        }
    }

    func scanNumbers(_ column: FieldColumn, _ passes: (FieldValue) -> Bool) -> RowBitmap {
        var result = RowBitmap(count: count)
        for row in 0..<count where !column.isNull(row) {
            let value: FieldValue = column.type == .int64 ? .int64(column.integers[row]) : .double(column.doubles[row])
            if passes(value) { result.insert(row) }
        }
        return result
    }

    /// Rows of a sorted number index whose value satisfies `op literal`: a run of `order`.
    func rangeRows(_ column: FieldColumn, _ order: [UInt32], _ op: ComparisonOperator, _ literal: FieldValue) -> RowBitmap {
        // First position whose value is not below the literal (or, with `strictlyAbove`, is above).
        func bound(strictlyAbove: Bool) -> Int {
            order.partitioningIndex { position in
                let row = Int(position)
                let value: FieldValue = column.type == .int64 ? .int64(column.integers[row]) : .double(column.doubles[row])
                let o = Filter.order(value, literal) ?? 0
                return strictlyAbove ? o > 0 : o >= 0
            }
        }
        let below = bound(strictlyAbove: false)
        let through = bound(strictlyAbove: true)
        let range: Range<Int> =
            switch op {
            case .equal: below..<through
            case .less: 0..<below
            case .lessOrEqual: 0..<through
            case .greater: through..<order.count
            case .greaterOrEqual: below..<order.count
            case .notEqual: preconditionFailure("!= is evaluated as a complement")
            }
        var result = RowBitmap(count: count)
        result.insert(contentsOf: order[range])
        return result
    }

    /// Rows holding any of `codes` (strings and bools: the row's code; tags: any of its codes).
    func rows(_ field: Int, codes: [UInt32]) -> RowBitmap {
        var result = RowBitmap(count: count)
        guard !codes.isEmpty else { return result }
        if let indexes {
            for code in codes where Int(code) + 1 < indexes[field].postingStarts.count {
                result.insert(contentsOf: indexes[field].postings(of: code))
            }
            return result
        }
        let column = columns[field]
        let tableSize = column.type == .bool ? 2 : column.dictionary.count
        var wanted = [Bool](repeating: false, count: tableSize)
        for code in codes { wanted[Int(code)] = true }
        for row in 0..<count where !column.isNull(row) {
            if column.type == .tags {
                if column.codes[column.tagRange(row)].contains(where: { wanted[Int($0)] }) { result.insert(row) }
            } else if wanted[Int(column.codes[row])] {
                result.insert(row)
            }
        }
        return result
    }

    /// Rows holding a code of a sorted dictionary's range (frozen columns only).
    func rows(_ field: Int, codeRange: Range<Int>) -> RowBitmap {
        var result = RowBitmap(count: count)
        result.insert(contentsOf: indexes![field].postings(ofCodes: codeRange))
        return result
    }
}
