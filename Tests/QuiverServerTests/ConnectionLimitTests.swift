import Foundation
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import QuiverWire
import Synchronization
import Testing

/// Connections that open and send nothing cannot hold the server: beyond `--max-connections` they
/// are closed as they are accepted, and those let in are closed once the handshake timeout passes
/// without an HTTP/2 preface; meanwhile a client that was connected before is served, a
/// SearchSession left silent survives the keepalive PINGs, and a new client connects afterwards.
@Suite struct ConnectionLimitTests {
    @Test(.timeLimit(.minutes(3))) func idleConnectionsAreBoundedAndClosedWhileClientsAreServed() async throws {
        // Timeouts of seconds, not milliseconds: the whole suite runs at once on two cores, and a
        // client's own HTTP/2 preface can take a second to go out.
        let server = try await TestServer(arguments: ["--max-connections", "10", "--idle-timeout-seconds", "5", "--keepalive-seconds", "1"])
        try await server.withClient { client async throws in
            try await waitUntil("the first call to be answered", timeout: .seconds(60), interval: .milliseconds(100)) {
                (try? await client.createCollection(CollectionSchema(name: "c", dimension: 2, metric: .l2))) != nil
            }
            try await client.upsert("c", [Record(id: 1, vector: [1, 2])])
            try await client.withSearchSession { session in
                #expect(try await session.search("c", queries: [[1, 2]], k: 1).first?.first?.id == 1)

                // The flood, from another process, while this client keeps calling.
                let progress = Progress()
                let flood = Task {
                    defer { progress.done.store(true, ordering: .relaxed) }
                    let result = try await HostileClientTests.probe(server, ["idle-connections", "--connections", "40", "--timeout", "20"])
                    return (result["closed_after"] as? [Any] ?? []).map { $0 as? Double }
                }
                while !progress.done.load(ordering: .relaxed) {
                    do {
                        _ = try await client.count("c")
                        progress.served.add(1, ordering: .relaxed)
                    } catch {
                        progress.failures.withLock { $0.append("\(error)") }
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                let closed = try await flood.value
                let times = closed.compactMap { $0 }
                #expect(closed.count == 40 && times.count == 40, "still open: \(closed)")
                // One connection (this client's) was already open: nine of the forty got in.
                let atOnce = times.filter { $0 < 4.0 }.count
                let afterTimeout = times.filter { $0 >= 4.5 }.count
                #expect(atOnce == 31 && afterTimeout == 9, "\(times.sorted())")
                #expect(progress.served.load(ordering: .relaxed) > 0)
                #expect(progress.failures.withLock { $0 }.isEmpty, "\(progress.failures.withLock { $0 })")

                // The session stayed silent for seconds, across keepalive PINGs: still answers.
                #expect(try await session.search("c", queries: [[1, 2]], k: 1).first?.first?.id == 1)
            }
        }
        // A new client connects now that the idle connections are gone.
        try await server.withClient { client async throws in #expect(try await client.count("c") == 1) }
        try await server.stop()
    }
}

private final class Progress: Sendable {
    let served = Atomic<Int>(0)
    let done = Atomic<Bool>(false)
    let failures = Mutex<[String]>([])
}
