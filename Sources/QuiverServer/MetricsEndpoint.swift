// `quiver serve --metrics HOST:PORT`: Prometheus's text format over HTTP/1.1 at `GET /metrics`.
//
// - With TLS on the gRPC port, the endpoint speaks HTTPS with the same certificate, key and
//   client CA (so with mTLS a scraper presents a client certificate too), and follows SIGHUP
//   reloads of them. A plaintext request to it is answered 400 saying so, as the gRPC port
//   answers plaintext calls.
// - With `--metrics-key-role ROLE`, a scrape needs `Authorization: Bearer KEY` (Prometheus's
//   `authorization` or `bearer_token_file`), or a client certificate listed as `subject:NAME`,
//   whose role is at least ROLE: 401 without one, 403 for too small a role or a key scoped to
//   collections (the metrics describe every collection). Refusals are logged and audited like
//   refused calls.
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Prometheus
import QuiverAuth
import QuiverCore
import QuiverEngine
import QuiverWire

/// The Prometheus endpoint of a running server; `QuiverServer.serveMetrics` starts one.
public final class MetricsEndpoint: Sendable {
    public let address: ServerAddress
    private let channel: any Channel

    private init(address: ServerAddress, channel: any Channel) {
        self.address = address
        self.channel = channel
    }

    /// Who may scrape, and over what.
    struct Access: Sendable {
        let credentials: Credentials
        /// Set: scrapes need a key (or mapped certificate) with at least this role.
        let role: Role?
        let audit: AuditLog?
        let logger: Logger
        let handshakeTimeout: TimeAmount
    }

    /// Binds the endpoint. `refresh` runs before every scrape is answered.
    static func start(
        at address: ServerAddress, registry: PrometheusCollectorRegistry, access: Access, refresh: @escaping @Sendable () -> Void
    ) async throws -> MetricsEndpoint {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    @Sendable func addHTTP(tls: NIOSSLContext?, plaintextRefused: Bool) throws {
                        let operations = channel.pipeline.syncOperations
                        if let tls { try operations.addHandler(NIOSSLServerHandler(context: tls)) }
                        try operations.configureHTTPServerPipeline()
                        try operations.addHandler(
                            ScrapeHandler(registry: registry, access: access, plaintextRefused: plaintextRefused, refresh: refresh))
                    }
                    guard access.credentials.requiresTLS else { return try addHTTP(tls: nil, plaintextRefused: false) }
                    try channel.pipeline.syncOperations.addHandler(
                        TLSDetector(timeout: access.handshakeTimeout) { _, isTLS in
                            try addHTTP(tls: isTLS ? access.credentials.tls?.httpContext : nil, plaintextRefused: !isTLS)
                        })
                }
            }
        let channel = try await bootstrap.bind(host: address.host, port: address.port).get()
        let bound = channel.localAddress.map { ServerAddress(host: $0.ipAddress ?? address.host, port: $0.port ?? address.port) } ?? address
        return MetricsEndpoint(address: bound, channel: channel)
    }

    public func close() async {
        try? await channel.close()
    }
}

/// Answers one request at a time per connection (HTTP/1.1 keep-alive).
private final class ScrapeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private let access: MetricsEndpoint.Access
    private let plaintextRefused: Bool
    private let refresh: @Sendable () -> Void
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry, access: MetricsEndpoint.Access, plaintextRefused: Bool, refresh: @escaping @Sendable () -> Void) {
        self.registry = registry
        self.access = access
        self.plaintextRefused = plaintextRefused
        self.refresh = refresh
    }

    private struct Reply {
        var status: HTTPResponseStatus
        var body: [UInt8]
        var type = "text/plain; charset=utf-8"
        var headers: [(String, String)] = []

        init(_ status: HTTPResponseStatus, _ text: String) {
            self.status = status
            body = Array((text + "\n").utf8)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(answer(head, context), version: head.version, context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, _ context: ChannelHandlerContext) -> Reply {
        if plaintextRefused {
            return Reply(.badRequest, "this endpoint requires HTTPS: the server has TLS on (scrape https://, with the CA that signed its certificate)")
        }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard head.method == .GET && path == "/metrics" else { return Reply(.notFound, "only GET /metrics is served here") }
        if let role = access.role, let refusal = authorize(head, role: role, context) {
            let peer = GRPCConnectionHandler.describe(context.channel.remoteAddress)
            access.logger.notice(
                "metrics scrape refused", metadata: ["peer": "\(peer)", "code": "\(refusal.code.rawValue)", "error": "\(refusal.message)"])
            access.audit?.write(AuditEntry(method: "GET /metrics", peer: peer, key: nil, code: refusal.code.rawValue))
            var reply = Reply(refusal.code == .unauthenticated ? .unauthorized : .forbidden, refusal.message)
            if refusal.code == .unauthenticated { reply.headers.append(("WWW-Authenticate", #"Bearer realm="quiver metrics""#)) }
            return reply
        }
        refresh()
        var reply = Reply(.ok, "")
        reply.body = registry.emitToBuffer()
        reply.type = "text/plain; version=0.0.4; charset=utf-8"
        return reply
    }

    /// Why the scrape may not proceed, nil if it may.
    private func authorize(_ head: HTTPRequestHead, role: Role, _ context: ChannelHandlerContext) -> QuiverError? {
        guard let keys = access.credentials.keys else {
            // `serve` refuses --metrics-key-role without --api-keys; a server made otherwise
            // without keys lets nobody in rather than everybody.
            return QuiverError(.unauthenticated, .invalidCredentials, "the server has no API keys", field: "authorization")
        }
        let header = head.headers.first(name: "authorization")
        var names: [String] = []
        if header == nil, let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
            let certificate = handler.peerCertificate
        {
            names = CertificateNames.of(certificate)
        }
        switch CallAuthorization.check(header, keys: keys, required: role, method: "GET /metrics", certificateNames: names) {
        case .failure(let refusal):
            return refusal
        case .success(let entry):
            guard let scope = entry.scope else { return nil }
            return QuiverError(
                .permissionDenied, .insufficientRole,
                "key \"\(entry.label)\" is scoped to collections \(scope); the metrics describe every collection", field: "authorization")
        }
    }

    private func respond(_ reply: Reply, version: HTTPVersion, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.type)
        headers.add(name: "Content-Length", value: String(reply.body.count))
        for (name, value) in reply.headers { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: reply.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: reply.body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

extension QuiverServer {
    /// Serves Prometheus's text format at `http(s)://address/metrics` until the endpoint is
    /// closed: over TLS with the gRPC port's certificate when the server has one, and with
    /// `keyRole` only to keys (or mapped client certificates) with at least that role.
    public func serveMetrics(at address: ServerAddress, registry: PrometheusCollectorRegistry, keyRole: Role?) async throws -> MetricsEndpoint {
        try await MetricsEndpoint.start(
            at: address, registry: registry,
            access: MetricsEndpoint.Access(
                credentials: credentials, role: keyRole, audit: audit, logger: options.logger,
                handshakeTimeout: options.connectionLimits.handshakeTimeout)
        ) { [weak self] in self?.refreshMetrics() }
    }

    /// Records the gauges that describe the database's state: per collection rows, memory, index
    /// file bytes and segments by state, and the process's resident memory.
    public func refreshMetrics() {
        for info in (try? database.listCollections()) ?? [] {
            let collection = ("collection", info.name)
            Gauge(label: "quiver_collection_rows", dimensions: [collection]).record(info.rows)
            Gauge(label: "quiver_collection_memory_bytes", dimensions: [collection]).record(info.memoryBytes)
            Gauge(label: "quiver_collection_index_file_bytes", dimensions: [collection]).record(
                info.segments.reduce(0) { $0 + ($1.diskBytes ?? 0) })
            for phase in SegmentPhase.allCases {
                Gauge(label: "quiver_segments", dimensions: [collection, ("state", phase.rawValue)]).record(
                    info.segments.filter { $0.phase == phase }.count)
            }
        }
        Gauge(label: "process_resident_memory_bytes").record(ProcessMemory.residentBytes())
    }
}
