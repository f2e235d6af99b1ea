import Foundation
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import QuiverCore
import QuiverEngine
import QuiverWire

/// `quiver serve --metrics HOST:PORT`: Prometheus's text format over plain HTTP/1.1 at
/// `GET /metrics` (anything else is 404). The metrics are swift-metrics', recorded by the engine
/// and the services into a `PrometheusCollectorRegistry` (docs/operations.md, "Metrics");
/// gauges that describe state rather than events (segments by state, rows, memory) are
/// refreshed at each scrape.
public final class MetricsEndpoint: Sendable {
    public let address: ServerAddress
    private let channel: any Channel

    private init(address: ServerAddress, channel: any Channel) {
        self.address = address
        self.channel = channel
    }

    /// Binds the endpoint. `refresh` runs before every scrape is answered.
    public static func start(
        at address: ServerAddress, registry: PrometheusCollectorRegistry, refresh: @escaping @Sendable () -> Void
    ) async throws -> MetricsEndpoint {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ScrapeHandler(registry: registry, refresh: refresh))
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
    private let refresh: @Sendable () -> Void
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry, refresh: @escaping @Sendable () -> Void) {
        self.registry = registry
        self.refresh = refresh
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            let status: HTTPResponseStatus
            let body: [UInt8]
            let type: String
            if head.method == .GET && path == "/metrics" {
                refresh()
                status = .ok
                body = registry.emitToBuffer()
                type = "text/plain; version=0.0.4; charset=utf-8"
            } else {
                status = .notFound
                body = Array("only GET /metrics is served here\n".utf8)
                type = "text/plain; charset=utf-8"
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: String(body.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

extension QuiverServer {
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
