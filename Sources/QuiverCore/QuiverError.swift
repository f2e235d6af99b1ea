/// The one error type every Quiver layer throws.
///
/// `code` says who must act: the caller (`invalidArgument`, `notFound`, `alreadyExists`,
/// `failedPrecondition`, `unauthenticated`, `permissionDenied`, `unimplemented`), a retry
/// (`resourceExhausted`, `unavailable`, `cancelled`, `deadlineExceeded`), or the operator
/// (`corruption`, `io`, `internal`). `reason` names the exact cause so that programs and tests
/// can branch on it without matching message text. The server maps `code` to a gRPC status in one
/// place; this module never imports gRPC.
public struct QuiverError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, CaseIterable {
        case invalidArgument
        case notFound
        case alreadyExists
        case failedPrecondition
        /// No credentials, or credentials the server does not know.
        case unauthenticated
        /// Known credentials without the role the call needs.
        case permissionDenied
        /// A feature this server does not have (yet).
        case unimplemented
        case resourceExhausted
        case unavailable
        /// The caller cancelled the call (or its deadline passed) before it finished.
        case cancelled
        /// The caller's deadline passed before the call finished.
        case deadlineExceeded
        case corruption
        case io
        case `internal`
    }

    /// The precise cause. Stable: programs may switch over it.
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        // Schema and names.
        case invalidName
        case invalidDimension
        case invalidSchema
        // Records.
        case emptyBatch
        case duplicateID
        case dimensionMismatch
        case nonFiniteVector
        /// A vector so long (squared length over `Metric.squaredNormMax`) that scores would
        /// overflow float32.
        case vectorOutOfRange
        case zeroVector
        case unknownField
        case fieldTypeMismatch
        case nullNotAllowed
        case nonFiniteValue
        // Requests.
        case invalidK
        case limitExceeded
        case malformedRequest
        case messageTooLarge
        /// A read whose result would be larger than the server's limit on results
        /// (`DatabaseOptions.resultBytesMax`, the message limit of `quiver serve`).
        case responseTooLarge
        /// The server does not have the called method (one older than the client): what the client
        /// reports for gRPC's UNIMPLEMENTED, which Quiver's services never return themselves.
        case methodNotSupported
        /// A search sent on a `SearchSession` that has ended (closed, or ended by a failed search).
        case sessionClosed
        /// A filter expression that does not parse or does not type-check against the schema.
        case invalidFilter
        // Access.
        case missingCredentials
        case invalidCredentials
        case insufficientRole
        /// A reload of the server's API keys file or TLS files failed (a file does not parse or
        /// cannot be read); the keys and certificate in use before stay in use.
        case credentialsNotReloaded
        // Catalog.
        case collectionNotFound
        case collectionExists
        case tooManyCollections
        /// The collection has no segment with that id (or it was compacted away).
        case segmentNotFound
        /// The segment is growing or sealed: it has no index to rebuild or check.
        case segmentNotIndexed
        /// A path that cannot be used: a backup destination or restore target that is not empty,
        /// a source that is not a backup.
        case invalidPath
        // Database state.
        /// The disk holding the database is full: writes are refused until space is freed (they
        /// resume by themselves then); reads go on.
        case diskFull
        case databaseClosed
        case databaseLocked
        case cancelled
        case deadlineExceeded
        case serverUnavailable
        /// The peer reported an error without a Quiver reason (a transport or proxy error).
        case unknown
        case unsupportedFormat
        case corruptData
        case ioFailure
        case internalFailure
    }

    public var code: Code
    public var reason: Reason
    /// A sentence for people: names the collection, the field and the offending value.
    public var message: String
    /// The collection the error concerns, when there is one.
    public var collection: String?
    /// The field at fault: a scalar field name, or `vector`, `id`, `k`, `name`, `dimension`.
    public var field: String?
    /// The offending value, rendered for display (shortened when long: `elided`).
    public var value: String?

    public init(
        _ code: Code,
        _ reason: Reason,
        _ message: String,
        collection: String? = nil,
        field: String? = nil,
        value: String? = nil
    ) {
        self.code = code
        self.reason = reason
        self.message = Self.elided(message, bytesMax: Self.messageBytesMax)
        self.collection = collection.map { Self.elided($0, bytesMax: Self.echoBytesMax) }
        self.field = field.map { Self.elided($0, bytesMax: Self.echoBytesMax) }
        self.value = value.map { Self.elided($0, bytesMax: Self.echoBytesMax) }
    }

    public var description: String { "\(code.rawValue) (\(reason.rawValue)): \(message)" }

    /// Longest collection, field or value an error carries, in UTF-8 bytes.
    public static let echoBytesMax = 256
    /// Longest message an error carries, in UTF-8 bytes.
    public static let messageBytesMax = 1_024

    /// `text` itself, or, when it is longer than `bytesMax` UTF-8 bytes, its head and tail around
    /// a note of its full length — at most `bytesMax` bytes in all. An error echoes what the
    /// caller sent (a name, a filter, a value) into the message and the gRPC trailers, and a
    /// hostile or careless caller can send megabytes: gRPC clients refuse trailers over 8–16 KiB
    /// (C-core's limits) with RESOURCE_EXHAUSTED, which hid the real error, and logs would carry
    /// the whole input. The tail is kept because messages end with the explanation.
    public static func elided(_ text: String, bytesMax: Int) -> String {
        let bytes = text.utf8.count
        guard bytes > bytesMax else { return text }
        let note = " … (\(bytes) bytes) … "
        let room = max(0, bytesMax - note.utf8.count)
        let head = prefix(of: text, bytes: room * 3 / 4)
        let tail = suffix(of: text, bytes: room - head.utf8.count)
        return head + note + tail
    }

    /// The longest prefix of whole characters within `bytes` UTF-8 bytes.
    private static func prefix(of text: String, bytes: Int) -> String {
        var used = 0
        var end = text.startIndex
        for character in text {
            let size = character.utf8.count
            guard used + size <= bytes else { break }
            used += size
            end = text.index(after: end)
        }
        return String(text[..<end])
    }

    /// The longest suffix of whole characters within `bytes` UTF-8 bytes.
    private static func suffix(of text: String, bytes: Int) -> String {
        var used = 0
        var start = text.endIndex
        for character in text.reversed() {
            let size = character.utf8.count
            guard used + size <= bytes else { break }
            used += size
            start = text.index(before: start)
        }
        return String(text[start...])
    }
}

extension QuiverError {
    public static func invalid(
        _ reason: Reason, _ message: String, collection: String? = nil, field: String? = nil,
        value: String? = nil
    ) -> QuiverError {
        QuiverError(.invalidArgument, reason, message, collection: collection, field: field, value: value)
    }

    public static func collectionNotFound(_ name: String) -> QuiverError {
        QuiverError(
            .notFound, .collectionNotFound, "collection \"\(name)\" does not exist",
            collection: name, field: "collection", value: name)
    }

    public static func io(_ message: String) -> QuiverError {
        QuiverError(.io, .ioFailure, message)
    }

    public static func corruption(_ message: String, collection: String? = nil) -> QuiverError {
        QuiverError(.corruption, .corruptData, message, collection: collection)
    }

    public static let closed = QuiverError(.unavailable, .databaseClosed, "the database is closed")

    public static let cancelled = QuiverError(.cancelled, .cancelled, "the call was cancelled before it finished")
}
