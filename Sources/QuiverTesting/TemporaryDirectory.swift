import Foundation

/// A fresh directory under the system temp dir, removed when the value is deinitialized.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(_ prefix: String = "quiver-test") {
        path = NSTemporaryDirectory() + "/\(prefix)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    public func child(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

extension Array where Element: Sendable {
    /// The elements as an async sequence (for streaming APIs in tests).
    public var asyncStream: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
