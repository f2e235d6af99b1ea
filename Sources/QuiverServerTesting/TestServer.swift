import Foundation
import QuiverTesting
import QuiverClient
import QuiverWire

#if canImport(Glibc)
import Glibc
#endif

/// A real `quiver serve` process for integration tests: listening on an ephemeral loopback port,
/// with its data in a temporary directory (or one the test passes, to restart on the same data).
public final class TestServer: Sendable {
    public let child: ChildProcess
    public let dataDirectory: TemporaryDirectory
    public let host: String
    public let port: Int

    /// `HOST:PORT`, for `--server` and `QuiverClient.Options`.
    public var address: String { "\(host):\(port)" }

    /// Starts the server and waits until it listens.
    ///
    /// - Parameters:
    ///   - arguments: extra `quiver serve` arguments (`--api-keys`, `--sync`, …).
    ///   - environment: variables added to the test's own environment for the server process
    ///     (`LD_PRELOAD` of the fault-injection library, say).
    public init(
        dataDirectory: TemporaryDirectory = TemporaryDirectory(), arguments: [String] = [], environment: [String: String] = [:]
    ) async throws {
        self.dataDirectory = dataDirectory
        child = try ChildProcess(
            "quiver",
            arguments: ["serve", "--data-dir", dataDirectory.path, "--listen", "127.0.0.1:0", "--log-level", "debug"] + arguments,
            environment: environment.isEmpty ? nil : ProcessInfo.processInfo.environment.merging(environment) { $1 })
        let bound = try await child.waitForLine(startingWith: "listening ")
        guard let colon = bound.lastIndex(of: ":"), let port = Int(bound[bound.index(after: colon)...]) else {
            throw ChildProcessError("unexpected listening line '\(bound)'")
        }
        host = String(bound[..<colon])
        self.port = port
    }

    /// SIGTERM and wait for a graceful exit; returns the exit status.
    @discardableResult
    public func stop() async throws -> Int32 {
        child.signal(SIGTERM)
        return try await child.waitForExit().status
    }

    /// SIGKILL, as a crash.
    public func kill() async throws {
        child.signal(SIGKILL)
        try await child.waitForExit()
    }
}

extension TestServer {
    /// Runs `body` with a client connected to this server.
    public func withClient<T: Sendable>(
        apiKey: String? = nil, timeout: Duration? = nil, maxMessageBytes: Int = 64 << 20, tls: QuiverClient.TLS? = nil,
        _ body: (QuiverClient) async throws -> T
    ) async throws -> T {
        let options = QuiverClient.Options(
            server: ServerAddress(host: host, port: port), apiKey: apiKey, timeout: timeout, maxMessageBytes: maxMessageBytes, tls: tls)
        return try await QuiverClient.withClient(options, body)
    }
}

