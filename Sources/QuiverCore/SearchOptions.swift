/// What a search returns beside ids and scores.
public struct SearchOptions: Sendable, Hashable {
    /// Return each hit's stored vector. Default `false`.
    public var includeVectors: Bool
    /// Return these fields of each hit. Default none.
    public var fields: FieldSelection

    public init(includeVectors: Bool = false, fields: FieldSelection = .none) {
        self.includeVectors = includeVectors
        self.fields = fields
    }
}
