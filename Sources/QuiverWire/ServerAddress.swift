import QuiverCore

/// A `HOST:PORT` address as `quiver serve --listen` and the client's `--server` take it:
/// `127.0.0.1:7733`, `localhost:7733`, `[::1]:7733`, `0.0.0.0:7733`. Port 0 (listen only) asks the
/// system for a free port.
public struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public static let defaultPort = 7733
    public static let loopbackDefault = ServerAddress(host: "127.0.0.1", port: defaultPort)

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` or `[IPV6]:PORT`.
    public init(parsing text: String) throws(QuiverError) {
        func invalid() -> QuiverError {
            .invalid(.malformedRequest, "address \"\(text)\" is not HOST:PORT (for IPv6, [ADDRESS]:PORT)", field: "address", value: text)
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { throw invalid() }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { throw invalid() }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65_535).contains(port) else { throw invalid() }
        self.init(host: String(host), port: port)
    }

    public var isIPv6: Bool { host.contains(":") }

    /// Whether the host is a dotted-quad IPv4 address (`10.0.0.5`), not a name.
    public var isIPv4: Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in part.count <= 3 && UInt8(part) != nil }
    }

    /// Whether only this machine can reach the address (127.0.0.0/8, ::1, localhost).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
