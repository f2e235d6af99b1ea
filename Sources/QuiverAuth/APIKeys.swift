import Foundation
import QuiverCore

/// What a key may do. Each role includes the ones below it: `admin` ⊇ `write` ⊇ `read`.
public enum Role: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// Search, get, list and describe collections, stats, version.
    case read = 1
    /// Also upsert and delete records.
    case write = 2
    /// Also create and drop collections.
    case admin = 3

    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .read: "read"
        case .write: "write"
        case .admin: "admin"
        }
    }

    init?(name: String) {
        guard let role = Role.allCases.first(where: { $0.description == name }) else { return nil }
        self = role
    }
}

/// The API keys a server accepts, loaded from `--api-keys FILE`.
///
/// File format: one key per line, `KEY ROLE [LABEL]`, separated by spaces or tabs. ROLE is
/// `read`, `write` or `admin`; the optional LABEL names the key in logs (the key itself is never
/// logged). Blank lines and lines starting with `#` are ignored. Keys are at least 16 characters
/// of printable ASCII without spaces, and each key appears once (a key on two lines, with two
/// roles, would leave it to the reader which one holds). Lines may end in LF or CRLF.
public struct APIKeys: Sendable {
    public struct Entry: Sendable {
        let key: [UInt8]
        public let role: Role
        public let label: String
    }

    public static let keyLengthMin = 16
    private let entries: [Entry]
    private let keyLengthMax: Int

    public var count: Int { entries.count }

    public init(contents: String, source: String) throws(QuiverError) {
        var entries: [Entry] = []
        var lineOfKey: [[UInt8]: Int] = [:]
        // Split on any line end: Swift reads "\r\n" as one character, so splitting on "\n" alone
        // left a CRLF file as one line.
        for (number, rawLine) in contents.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            func fail(_ why: String) -> QuiverError {
                QuiverError(
                    .invalidArgument, .malformedRequest, "\(source) line \(number + 1): \(why)",
                    field: "api-keys", value: "line \(number + 1)")
            }
            guard parts.count == 2 || parts.count == 3 else { throw fail("expected KEY ROLE [LABEL]") }
            let key = Array(parts[0].utf8)
            guard key.count >= Self.keyLengthMin, key.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw fail("keys must be at least \(Self.keyLengthMin) printable ASCII characters")
            }
            guard let role = Role(name: parts[1]) else { throw fail("role must be read, write or admin") }
            if let first = lineOfKey[key] { throw fail("the key of line \(first) appears again") }
            lineOfKey[key] = number + 1
            entries.append(Entry(key: key, role: role, label: parts.count == 3 ? parts[2] : "line \(number + 1)"))
        }
        guard !entries.isEmpty else {
            throw QuiverError(.invalidArgument, .malformedRequest, "\(source) holds no keys", field: "api-keys", value: source)
        }
        self.entries = entries
        keyLengthMax = entries.map(\.key.count).max()!
    }

    public init(file path: String) throws(QuiverError) {
        let contents: String
        do { contents = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw QuiverError(.invalidArgument, .malformedRequest, "cannot read API keys file \(path): \(error.localizedDescription)",
                field: "api-keys", value: path)
        }
        try self.init(contents: contents, source: path)
    }

    /// The entry whose key equals `presented`, or nil.
    ///
    /// Constant time with respect to the keys' contents: every entry is compared over the longest
    /// key's length without an early exit, so the time depends only on the number of keys and the
    /// longest key, not on how much of any key the caller guessed right.
    public func match(_ presented: String) -> Entry? {
        let candidate = Array(presented.utf8)
        var found: Int = -1
        for (index, entry) in entries.enumerated() {
            var difference = UInt8(truncatingIfNeeded: entry.key.count ^ candidate.count) | (candidate.count > keyLengthMax ? 1 : 0)
            for i in 0..<keyLengthMax {
                let a = i < entry.key.count ? entry.key[i] : 0
                let b = i < candidate.count ? candidate[i] : 0
                difference |= a ^ b
            }
            // Branch-free select: keeps the index of the last matching entry.
            let isMatch = Int(difference == 0 ? 1 : 0)
            found = isMatch * index + (1 - isMatch) * found
        }
        return found >= 0 ? entries[found] : nil
    }
}
