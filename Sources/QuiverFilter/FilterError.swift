import QuiverCore

/// Why a filter expression was refused, and where: `column` counts Unicode scalars from 1.
public struct FilterError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public let column: Int

    init(_ message: String, column: Int) {
        self.message = message
        self.column = column
    }

    /// "unknown field \"yeer\" at column 1"
    public var description: String { "\(message) at column \(column)" }

    /// The error as callers of the database see it.
    public func quiverError(collection: String, expression: String) -> QuiverError {
        .invalid(
            .invalidFilter, "collection \"\(collection)\": filter: \(description)", collection: collection, field: "filter",
            value: expression)
    }
}
