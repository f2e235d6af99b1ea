import Crypto
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

    public init?(name: String) {
        guard let role = Role.allCases.first(where: { $0.description == name }) else { return nil }
        self = role
    }
}

/// The API keys a server accepts, loaded from `--api-keys FILE`.
///
/// File format: one key per line, `KEY ROLE [LABEL] [collections=LIST]`, separated by spaces or
/// tabs. KEY may also be `subject:NAME`: a client certificate (mTLS) whose common name or a DNS
/// subject alternative name is NAME stands for a key with that role and scope. LIST limits the key to those collections: names and prefixes ending in `*`, separated by
/// commas (`collections=docs,images`, `collections=tenant42_*`). KEY is the key
/// itself or `sha256:` and the 64 hex digits of its SHA-256 (`quiver keys generate` prints such a
/// line, so that the file holds no secret). ROLE is `read`, `write` or `admin`; the optional LABEL
/// names the key in logs (the key itself is never logged). Blank lines and lines starting with `#`
/// are ignored. Keys are at least 16 characters of printable ASCII without spaces, and each key
/// appears once (a key on two lines, with two roles, would leave it to the reader which one
/// holds). Lines may end in LF or CRLF.
///
/// Every key is held as its SHA-256 digest, written as such or hashed when the file is read; a
/// presented key is hashed once and compared with every digest in constant time.
public struct APIKeys: Sendable {
    public struct Entry: Sendable {
        let digest: [UInt8]
        public let role: Role
        public let label: String
        /// The collections the key may touch; nil: all of them.
        public let scope: CollectionScope?
    }

    public static let keyLengthMin = 16
    /// The prefix of a key written as its digest.
    public static let digestPrefix = "sha256:"
    private let entries: [Entry]
    /// `subject:NAME` lines, by NAME.
    private let subjects: [String: Entry]

    public var count: Int { entries.count + subjects.count }

    public init(contents: String, source: String) throws(QuiverError) {
        var entries: [Entry] = []
        var lineOfDigest: [[UInt8]: Int] = [:]
        var subjects: [String: Entry] = [:]
        var lineOfSubject: [String: Int] = [:]
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
            guard (2...4).contains(parts.count) else { throw fail("expected KEY ROLE [LABEL] [collections=LIST]") }
            var label: String?
            var scope: CollectionScope?
            for part in parts.dropFirst(2) {
                if part.hasPrefix(CollectionScope.keyword) {
                    guard scope == nil else { throw fail("collections= appears twice") }
                    guard let parsed = CollectionScope(parsing: String(part.dropFirst(CollectionScope.keyword.count))) else {
                        throw fail("collections= takes names and prefixes ending in *, separated by commas")
                    }
                    scope = parsed
                } else {
                    guard label == nil, scope == nil else { throw fail("expected KEY ROLE [LABEL] [collections=LIST]") }
                    label = part
                }
            }
            var digest: [UInt8] = []
            var subject: String?
            if parts[0].hasPrefix(Self.subjectPrefix) {
                let name = String(parts[0].dropFirst(Self.subjectPrefix.count))
                guard !name.isEmpty, name.count <= 255 else { throw fail("subject: takes a certificate name of 1–255 characters") }
                subject = name
            } else if parts[0].hasPrefix(Self.digestPrefix) {
                guard let bytes = Self.hexBytes(parts[0].dropFirst(Self.digestPrefix.count)), bytes.count == SHA256.byteCount else {
                    throw fail("a hashed key is \(Self.digestPrefix) and 64 hex digits")
                }
                digest = bytes
            } else {
                let key = Array(parts[0].utf8)
                guard key.count >= Self.keyLengthMin, key.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                    throw fail("keys must be at least \(Self.keyLengthMin) printable ASCII characters")
                }
                digest = Self.digest(key)
            }
            guard let role = Role(name: parts[1]) else { throw fail("role must be read, write or admin") }
            if let subject {
                if let first = lineOfSubject[subject] { throw fail("the subject of line \(first) appears again") }
                lineOfSubject[subject] = number + 1
            } else {
                if let first = lineOfDigest[digest] { throw fail("the key of line \(first) appears again") }
                lineOfDigest[digest] = number + 1
            }
            let entry = Entry(digest: digest, role: role, label: label ?? "line \(number + 1)", scope: scope)
            if let subject { subjects[subject] = entry } else { entries.append(entry) }
        }
        guard !entries.isEmpty || !subjects.isEmpty else {
            throw QuiverError(.invalidArgument, .malformedRequest, "\(source) holds no keys", field: "api-keys", value: source)
        }
        self.entries = entries
        self.subjects = subjects
    }

    /// The prefix of a line that names a client certificate instead of a key.
    public static let subjectPrefix = "subject:"

    /// The entry of the first of `names` (a verified client certificate's common name and DNS
    /// names) that the file lists as `subject:NAME`, or nil.
    public func match(certificateNames names: [String]) -> Entry? {
        names.lazy.compactMap { subjects[$0] }.first
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
    /// Constant time with respect to the keys: the presented key is hashed once and every digest
    /// is compared in full without an early exit, so the time depends only on the number of keys,
    /// not on how much of any key the caller guessed right.
    public func match(_ presented: String) -> Entry? {
        let candidate = Self.digest(Array(presented.utf8))
        var found: Int = -1
        for (index, entry) in entries.enumerated() {
            var difference: UInt8 = 0
            for i in 0..<SHA256.byteCount { difference |= entry.digest[i] ^ candidate[i] }
            // Branch-free select: keeps the index of the last matching entry.
            let isMatch = Int(difference == 0 ? 1 : 0)
            found = isMatch * index + (1 - isMatch) * found
        }
        return found >= 0 ? entries[found] : nil
    }

    /// A new random key: 32 bytes from the system's generator, as `qk_` and 64 hex digits.
    public static func generateKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return "qk_" + (0..<32).map { _ in hex(UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// The keys-file form of `key` that holds no secret: `sha256:<hex>`.
    public static func hashedForm(of key: String) -> String { digestPrefix + digest(Array(key.utf8)).map(hex).joined() }

    private static func digest(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }

    private static func hexBytes(_ text: Substring) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count / 2)
        for i in stride(from: 0, to: characters.count, by: 2) {
            guard let high = hexValue(characters[i]), let low = hexValue(characters[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The collections a key may touch: names, and prefixes (`tenant42_*`).
public struct CollectionScope: Sendable, Equatable, CustomStringConvertible {
    static let keyword = "collections="
    public let names: Set<String>
    public let prefixes: [String]

    /// `docs,images,tenant42_*`; nil when empty or holding an empty name.
    public init?(parsing list: String) {
        var names: Set<String> = []
        var prefixes: [String] = []
        for item in list.split(separator: ",", omittingEmptySubsequences: false) {
            if item.hasSuffix("*") {
                let prefix = item.dropLast()
                guard !prefix.isEmpty, !prefix.contains("*") else { return nil }
                prefixes.append(String(prefix))
            } else {
                guard !item.isEmpty, !item.contains("*") else { return nil }
                names.insert(String(item))
            }
        }
        guard !names.isEmpty || !prefixes.isEmpty else { return nil }
        self.names = names
        self.prefixes = prefixes
    }

    public func allows(_ collection: String) -> Bool {
        names.contains(collection) || prefixes.contains { collection.hasPrefix($0) }
    }

    public var description: String { (names.sorted() + prefixes.map { $0 + "*" }).joined(separator: ",") }
}
