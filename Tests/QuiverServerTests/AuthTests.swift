import Foundation
import QuiverClient
import QuiverAuth
import QuiverCore
@testable import QuiverServer
import QuiverWire
import QuiverServerTesting
import QuiverTesting
import Testing

@Suite struct AuthTests {
    static let readKey = "read-key-0123456789abcdef"
    static let writeKey = "write-key-0123456789abcdef"
    static let adminKey = "admin-key-0123456789abcdef"
    static let wrongKey = "wrong-key-0123456789abcdef"

    static func keysFile(in dir: TemporaryDirectory) throws -> String {
        let path = dir.child("keys.txt")
        try """
            # role per key
            \(readKey) read analytics
            \(writeKey)\twrite ingest

            \(adminKey) admin ops
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func rolesAreEnforcedPerMethodAndKeysNeverLogged() async throws {
        let keysDir = TemporaryDirectory()
        let server = try await TestServer(arguments: ["--api-keys", try Self.keysFile(in: keysDir)])
        let schema = CollectionSchema(name: "c", dimension: 2, metric: .l2)
        let record = Record(id: 1, vector: [1, 2])

        // Health needs no key.
        try await server.withClient { client async throws in #expect(try await client.health()) }
        // No key, a wrong key.
        try await server.withClient { client async throws in
            let error = await thrownError { _ = try await client.listCollections() }
            #expect(error?.code == .unauthenticated && error?.reason == .missingCredentials)
        }
        try await server.withClient(apiKey: Self.wrongKey) { client async throws in
            let error = await thrownError { _ = try await client.listCollections() }
            #expect(error?.code == .unauthenticated && error?.reason == .invalidCredentials)
            #expect(error?.message.contains(Self.wrongKey) == false)
        }
        // read: reads only.
        try await server.withClient(apiKey: Self.readKey) { client async throws in
            #expect(try await client.listCollections().isEmpty)
            let create = await thrownError { _ = try await client.createCollection(schema) }
            #expect(create?.code == .permissionDenied && create?.reason == .insufficientRole)
            #expect(create?.message.contains("analytics") == true && create?.message.contains("needs admin") == true)
        }
        // admin: creates.
        try await server.withClient(apiKey: Self.adminKey) { client async throws in
            _ = try await client.createCollection(schema)
        }
        try await server.withClient(apiKey: Self.readKey) { client async throws in
            let upsert = await thrownError { _ = try await client.upsert("c", [record]) }
            #expect(upsert?.code == .permissionDenied)
            #expect(try await client.search("c", queries: [[1, 2]], k: 1) == [[]])
            try await client.withSearchSession { session async throws in #expect(try await session.search("c", queries: [[1, 2]], k: 1) == [[]]) }
        }
        try await server.withClient { client async throws in
            try await client.withSearchSession { session async throws in
                // Whether the refusal comes before or after the search is sent, the search gets it.
                for _ in 0..<2 {
                    let error = await thrownError { _ = try await session.search("c", queries: [[1, 2]], k: 1) }
                    #expect(error?.code == .unauthenticated && error?.reason == .missingCredentials)
                }
            }
        }
        // write: writes, cannot drop.
        try await server.withClient(apiKey: Self.writeKey) { client async throws in
            _ = try await client.upsert("c", [record])
            let drop = await thrownError { try await client.dropCollection("c") }
            #expect(drop?.code == .permissionDenied)
            #expect(try await client.describeCollection("c").rows == 1)
        }
        try await server.stop()
        // No key appears in the server's logs, although every call was logged (debug level).
        let logs = server.child.stderr
        #expect(logs.contains("quiver.v1.CollectionService/ListCollections"))
        for key in [Self.readKey, Self.writeKey, Self.adminKey, Self.wrongKey] { #expect(!logs.contains(key)) }
    }

    @Test func keyMatchingIsExact() throws {
        let keys = try APIKeys(contents: "\(Self.readKey) read r\n\(Self.adminKey) admin a\n", source: "test")
        #expect(keys.match(Self.readKey)?.role == .read)
        #expect(keys.match(Self.adminKey)?.label == "a")
        for near in [String(Self.readKey.dropLast()), Self.readKey + "x", "", Self.readKey.uppercased(), " " + Self.readKey] {
            #expect(keys.match(near) == nil, "\(near)")
        }
    }

    @Test(arguments: [
        ("short read", "line 1: keys must be at least 16"),
        ("\(readKey) superuser", "line 1: role must be read, write or admin"),
        ("\(readKey)", "line 1: expected KEY ROLE [LABEL]"),
        ("# only a comment", "holds no keys"),
        // One key on two lines, with two roles: the reader could not tell which holds (it used to
        // be accepted, the later line winning).
        ("\(readKey) read first\n\(adminKey) admin\n\(readKey) admin again", "line 3: the key of line 1 appears again"),
        ("\(readKey) read svc collections=", "line 1: collections= takes names and prefixes"),
        ("\(readKey) read svc collections=a,,b", "line 1: collections= takes names and prefixes"),
        ("\(readKey) read svc collections=*", "line 1: collections= takes names and prefixes"),
        ("\(readKey) read collections=a svc", "line 1: expected KEY ROLE [LABEL] [collections=LIST]"),
        ("subject:search-svc read\nsubject:search-svc write", "line 2: the subject of line 1 appears again"),
        ("subject: read", "line 1: subject: takes a certificate name"),
        // The same key hashed and plain is still one key on two lines.
        ("\(readKey) read\n\(APIKeys.hashedForm(of: readKey)) admin", "line 2: the key of line 1 appears again"),
    ])
    func badKeyFilesAreRejected(contents: String, message: String) {
        do {
            _ = try APIKeys(contents: contents, source: "keys.txt")
            Issue.record("accepted \(contents)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    /// A keys file written on Windows (CRLF line ends) reads like the same file with LF: it used to
    /// be one long line, refused as "expected KEY ROLE [LABEL]".
    @Test func keysFilesWithCRLFLineEndsAreRead() throws {
        let keys = try APIKeys(contents: "# keys\r\n\(Self.readKey) read r\r\n\r\n\(Self.adminKey) admin a\r\n", source: "keys.txt")
        #expect(keys.count == 2)
        #expect(keys.match(Self.readKey)?.label == "r" && keys.match(Self.adminKey)?.role == .admin)
        do {
            _ = try APIKeys(contents: "\(Self.readKey) read\r\nshort admin\r\n", source: "keys.txt")
            Issue.record("accepted a short key on line 2")
        } catch {
            #expect(error.message.contains("line 2: keys must be at least 16"), "\(error.message)")
        }
    }

    @Test func serveRefusesABadKeysFile() async throws {
        let dir = TemporaryDirectory()
        try "too-short admin\n".write(toFile: dir.child("keys"), atomically: true, encoding: .utf8)
        let serve = try ChildProcess("quiver", arguments: ["serve", "--data-dir", dir.child("data"), "--listen", "127.0.0.1:0", "--api-keys", dir.child("keys")])
        let exit = try await serve.waitForExit()
        #expect(exit.status != 0)
        #expect(serve.stderr.contains("line 1: keys must be at least 16"))
    }

    @Test func loopbackDetection() throws {
        for (text, loopback) in [("127.0.0.1:1", true), ("127.1.2.3:1", true), ("localhost:1", true), ("[::1]:1", true),
                                 ("0.0.0.0:1", false), ("10.0.0.5:1", false), ("[::]:1", false)] {
            #expect(try ServerAddress(parsing: text).isLoopback == loopback, "\(text)")
        }
    }
}
