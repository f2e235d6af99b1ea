import NIOCore

/// What one client's connections may cost the server: how many there are, and how long one may
/// stay open without doing anything. The per-connection limit on concurrent calls is
/// `ServerOptions.maxConcurrentStreams`.
public struct ConnectionLimits: Sendable {
    /// Open connections at most; more are closed as they are accepted. Default 1,024.
    public var maxConnections: Int
    /// A connection without calls that receives nothing for this long gets GOAWAY and is closed
    /// (gRPC clients reconnect when they next call). Default 5 minutes.
    public var idleTimeout: TimeAmount
    /// A connection with calls that receives nothing for this long is sent a PING...
    public var keepaliveInterval: TimeAmount
    /// ...and closed when nothing arrives for this long after it.
    public var keepaliveTimeout: TimeAmount

    public static let maxConnectionsDefault = 1_024
    public static let maxConnectionsRange = 1...100_000

    public init(
        maxConnections: Int = ConnectionLimits.maxConnectionsDefault, idleTimeout: TimeAmount = .seconds(300),
        keepaliveInterval: TimeAmount = .seconds(60), keepaliveTimeout: TimeAmount = .seconds(20)
    ) {
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
    }

    /// A new connection must complete its TLS handshake and HTTP/2 preface within this: 10 s, or
    /// the idle timeout when that is shorter.
    var handshakeTimeout: TimeAmount { min(.seconds(10), idleTimeout) }

    /// How often each connection's timers are looked at.
    var tick: TimeAmount { min(.seconds(1), .nanoseconds(min(handshakeTimeout, keepaliveTimeout).nanoseconds / 2)) }
}
