import Foundation
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import QuiverWire
import Testing

/// Keys scoped to collections (`collections=docs,tenant42_*` in the keys file): another tenant's
/// collection answers exactly as one that does not exist, on every method, and lists show only
/// the key's own.
@Suite struct ScopeTests {
    static let operatorKey = "operator-key-0123456789abcdef"
    static let tenantKey = "tenant42-key-0123456789abcdef"
    static let tenantAdminKey = "tenant42-admin-0123456789abcdef"

    @Test func aScopedKeySeesOnlyItsOwnCollections() async throws {
        let dir = TemporaryDirectory()
        try """
            \(Self.operatorKey) admin ops
            \(Self.tenantKey) write tenant42 collections=tenant42_*,shared
            \(Self.tenantAdminKey) admin tenant42-admin collections=tenant42_*
            """.write(toFile: dir.child("keys.txt"), atomically: true, encoding: .utf8)
        let server = try await TestServer(arguments: ["--api-keys", dir.child("keys.txt")])
        try await server.withClient(apiKey: Self.operatorKey) { client async throws in
            for name in ["tenant42_docs", "tenant7_docs", "shared"] {
                try await client.createCollection(CollectionSchema(name: name, dimension: 2, metric: .l2))
                try await client.upsert(name, [Record(id: 1, vector: [1, 2]), Record(id: 2, vector: [2, 1])])
            }
        }

        try await server.withClient(apiKey: Self.tenantKey) { client async throws in
            #expect(try await client.listCollections().map(\.name).sorted() == ["shared", "tenant42_docs"])
            #expect(try await client.stats().collections.map(\.name).sorted() == ["shared", "tenant42_docs"])
            // Its own collections work.
            #expect(try await client.count("tenant42_docs") == 2)
            #expect(try await client.search("shared", queries: [[1, 2]], k: 1).first?.first?.id == 1)

            // Another tenant's collection, and one that does not exist, answer alike on every method.
            typealias Call = (String, @Sendable (QuiverClient, String) async throws -> Void)
            let calls: [Call] = [
                ("search", { _ = try await $0.search($1, queries: [[1, 2]], k: 1) }),
                ("get", { _ = try await $0.get($1, ids: [1]) }),
                ("query", { _ = try await $0.query($1, filter: nil, limit: 1) }),
                ("count", { _ = try await $0.count($1) }),
                ("upsert", { _ = try await $0.upsert($1, [Record(id: 3, vector: [3, 3])]) }),
                ("delete", { _ = try await $0.delete($1, ids: [1]) }),
                ("describe", { _ = try await $0.describeCollection($1) }),
                ("session", { client, name in try await client.withSearchSession { _ = try await $0.search(name, queries: [[1, 2]], k: 1) } }),
            ]
            for (method, call) in calls {
                let hidden = await thrownError { try await call(client, "tenant7_docs") }
                let missing = await thrownError { try await call(client, "tenant7_nothing") }
                #expect(hidden?.code == .notFound && hidden?.reason == .collectionNotFound, "\(method): \(String(describing: hidden))")
                #expect(
                    hidden?.message == missing?.message.replacingOccurrences(of: "tenant7_nothing", with: "tenant7_docs"),
                    "\(method): \(String(describing: hidden)) against \(String(describing: missing))")
            }
        }

        // A scoped admin key: segments of its own collections only, no backup of the whole
        // database, no collection outside its scope created or dropped.
        try await server.withClient(apiKey: Self.tenantAdminKey) { client async throws in
            #expect(try await client.listSegments("tenant42_docs").segments.isEmpty == false)
            for hidden in ["tenant7_docs", "shared"] {
                var error = await thrownError { _ = try await client.listSegments(hidden) }
                #expect(error?.code == .notFound, "\(String(describing: error))")
                error = await thrownError { _ = try await client.segments(hidden, .seal) }
                #expect(error?.code == .notFound, "\(String(describing: error))")
                error = await thrownError { _ = try await client.segmentHealth(hidden, segment: SegmentID(0)) }
                #expect(error?.code == .notFound, "\(String(describing: error))")
                error = await thrownError { try await client.dropCollection(hidden) }
                #expect(error?.code == .notFound, "\(String(describing: error))")
            }
            let backup = await thrownError { _ = try await client.backup(to: dir.child("backup")) }
            #expect(backup?.code == .permissionDenied, "\(String(describing: backup))")
            let create = await thrownError { _ = try await client.createCollection(CollectionSchema(name: "tenant7_new", dimension: 2, metric: .l2)) }
            #expect(create?.code == .permissionDenied, "\(String(describing: create))")
            _ = try await client.createCollection(CollectionSchema(name: "tenant42_new", dimension: 2, metric: .l2))
        }
        // Nothing of the other tenant changed.
        try await server.withClient(apiKey: Self.operatorKey) { client async throws in
            #expect(try await client.count("tenant7_docs") == 2)
            #expect(try await client.listCollections().map(\.name).sorted() == ["shared", "tenant42_docs", "tenant42_new", "tenant7_docs"])
        }
        try await server.stop()
    }
}
