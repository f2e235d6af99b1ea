/// What an upsert did.
public struct UpsertResult: Sendable, Hashable {
    /// Ids that had no live record before.
    public var inserted: Int
    /// Ids whose previous record was replaced.
    public var replaced: Int

    public init(inserted: Int, replaced: Int) {
        self.inserted = inserted
        self.replaced = replaced
    }
}
