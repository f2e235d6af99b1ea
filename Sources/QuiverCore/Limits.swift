/// Hard limits on every input. Each exists so that one request cannot exhaust memory or CPU; a
/// request over a limit is rejected with `invalidArgument` / `limitExceeded` and changes nothing.
public enum Limits {
    /// Vector dimension range of a collection.
    public static let dimensionRange = 1...4096
    /// Collection names: 1–128 characters, see `CollectionSchema.validateName`.
    public static let collectionNameLengthMax = 128
    /// Field names: 1–64 characters, see `FieldSchema.validateName`.
    public static let fieldNameLengthMax = 64
    /// Scalar fields per collection.
    public static let fieldsPerCollectionMax = 64
    /// Collections per database.
    public static let collectionsMax = 4096
    /// Records per upsert batch. Bigger loads are streamed as several batches.
    public static let batchRecordsMax = 100_000
    /// Ids per get or delete call.
    public static let idsPerCallMax = 100_000
    /// UTF-8 bytes of one `string` field value.
    public static let stringBytesMax = 65_536
    /// Entries of one `tags` value, and UTF-8 bytes of each entry.
    public static let tagsCountMax = 1_024
    public static let tagBytesMax = 1_024
    /// Range of `k` in a search.
    public static let kRange = 1...16_384
    /// Query vectors in one search call.
    public static let queriesPerSearchMax = 4_096
    /// Most stored vectors a segment recall check (`quiver segments show --check-recall`) uses.
    public static let recallCheckQueriesMax = 10_000
    /// Queries × k in one search call: bounds the result memory (about 20 bytes per slot).
    public static let resultSlotsMax = 4_194_304

    /// Longest filter expression, in bytes of UTF-8.
    public static let filterBytesMax = 65_536
    /// Deepest nesting of a filter expression (parentheses, `not`, `and`/`or` chains), so that
    /// parsing and evaluating hostile input cannot exhaust the stack.
    public static let filterDepthMax = 64
    /// Most values in one `in [...]`, `contains_any` or `contains_all` list.
    public static let filterListValuesMax = 4_096
}
