import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import QuiverAuth
import QuiverCore
import Synchronization

/// The listening side of the gRPC transport: binds, hands each connection a
/// `GRPCConnectionHandler`, and shuts down gracefully.
final class GRPCTransport: Sendable {
    /// What every connection of the server shares.
    struct Shared: Sendable {
        /// By path, `/quiver.v1.SearchService/Search`.
        let methods: [String: GRPCMethod]
        /// The API keys (nil: no authentication) and the TLS context (nil: plaintext), read
        /// per call and per connection so that a reload applies to new ones.
        let credentials: Credentials
        let messageLimit: Int
        let logger: Logger
        /// Refused calls are written to it here; the others by `CallHandler`.
        let audit: AuditLog?
    }

    private struct Connection {
        let channel: any Channel
        let handler: NIOLoopBound<GRPCConnectionHandler>

        func beginShutdown() {
            let handler = self.handler
            channel.eventLoop.execute { handler.value.beginShutdown() }
        }
    }

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: Connection] = [:]
        var shuttingDown = false
        /// Waits for the listener and every connection to close.
        var drained: CheckedContinuation<Void, Never>?
    }

    private let shared: Shared
    private let maxConcurrentStreams: Int
    private let limits: ConnectionLimits
    private let state = Mutex(State())
    /// Connections accepted and not yet closed, whatever stage they are in.
    private final class OpenConnections: Sendable {
        let count = Atomic<Int>(0)
    }
    private let open = OpenConnections()

    init(shared: Shared, maxConcurrentStreams: Int, limits: ConnectionLimits) {
        self.shared = shared
        self.maxConcurrentStreams = maxConcurrentStreams
        self.limits = limits
    }

    /// Binds `host:port` and returns the bound address; connections are served from then on.
    func bind(host: String, port: Int) async throws -> SocketAddress {
        var configuration = NIOHTTP2Handler.ConnectionConfiguration()
        // Header-block validation checks every header name and value character by character (RFC
        // 9113 §8.2) for the sake of intermediaries that forward them; this server forwards
        // nothing and reads four headers, each checked where it is read. It cost about 10 µs of
        // an 80 µs call. gRPC sends no content-length, so there is none to check either.
        configuration.headerBlockValidation = .disabled
        configuration.contentLengthValidation = .disabled
        configuration.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams),
            HTTP2Setting(parameter: .initialWindowSize, value: GRPCConnectionHandler.streamWindow),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16_384),
        ]
        let shared = self.shared
        let limits = self.limits
        let open = self.open
        let connection = configuration
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [weak self] channel in
                let transport = self
                // Over the limit: closed at once, before a byte is read.
                guard open.count.add(1, ordering: .relaxed).newValue <= limits.maxConnections else {
                    open.count.subtract(1, ordering: .relaxed)
                    shared.logger.notice("connection refused: too many connections", metadata: ["limit": "\(limits.maxConnections)"])
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in open.count.subtract(1, ordering: .relaxed) }
                return channel.eventLoop.makeCompletedFuture {
                    // Added once the client's first byte says whether it speaks TLS.
                    @Sendable func addGRPC(tls: NIOSSLContext?, refusal: QuiverError?) throws {
                        let operations = channel.pipeline.syncOperations
                        if let tls { try operations.addHandler(NIOSSLServerHandler(context: tls)) }
                        try operations.addHandler(NIOHTTP2Handler(mode: .server, connectionConfiguration: connection, streamConfiguration: .init()))
                        let handler = GRPCConnectionHandler(server: shared, limits: limits, refusal: refusal)
                        try operations.addHandler(handler)
                        transport?.track(Connection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop)))
                    }
                    guard shared.credentials.requiresTLS else { return try addGRPC(tls: nil, refusal: nil) }
                    try channel.pipeline.syncOperations.addHandler(
                        TLSDetector(timeout: limits.handshakeTimeout) { _, isTLS in
                            try addGRPC(
                                tls: isTLS ? shared.credentials.tls?.context : nil,
                                refusal: isTLS
                                    ? nil
                                    : QuiverError(
                                        .unavailable, .serverUnavailable,
                                        "this server requires TLS: the call was sent in plaintext (connect with --tls, and --tls-ca for a private CA)"
                                    ))
                        })
                }
            }
        let listener = try await bootstrap.bind(host: host, port: port).get()
        let refused = state.withLock { state -> Bool in
            guard !state.shuttingDown else { return true }
            state.listener = listener
            return false
        }
        if refused {
            try? await listener.close()
            throw QuiverError(.unavailable, .serverUnavailable, "the server is shutting down")
        }
        listener.closeFuture.whenComplete { [weak self] _ in self?.closed(listener) }
        guard let address = listener.localAddress else {
            throw QuiverError(.internal, .unknown, "the listening socket has no address")
        }
        return address
    }

    private func track(_ connection: Connection) {
        let channel = connection.channel
        let shuttingDown = state.withLock { state -> Bool in
            state.connections[ObjectIdentifier(channel)] = connection
            return state.shuttingDown
        }
        channel.closeFuture.whenComplete { [weak self] _ in self?.closed(channel) }
        if shuttingDown { connection.beginShutdown() }
    }

    private func closed(_ channel: any Channel) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.listener === channel { state.listener = nil }
            state.connections[ObjectIdentifier(channel)] = nil
            guard state.shuttingDown, state.listener == nil, state.connections.isEmpty else { return nil }
            defer { state.drained = nil }
            return state.drained
        }
        waiter?.resume()
    }

    /// Stops accepting connections and asks every connection to finish its calls and close.
    func beginGracefulShutdown() {
        let (listener, connections) = state.withLock { state in
            state.shuttingDown = true
            return (state.listener, Array(state.connections.values))
        }
        listener?.close(promise: nil)
        for connection in connections { connection.beginShutdown() }
    }

    /// Returns once `beginGracefulShutdown` was called and every connection has closed.
    func waitUntilDrained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.shuttingDown, state.listener == nil, state.connections.isEmpty { return true }
                state.drained = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }
}
