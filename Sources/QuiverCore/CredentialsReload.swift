/// What a reload read (`QuiverServer.reloadCredentials`, `quiver keys reload`).
public struct CredentialsReload: Sendable, Equatable {
    /// For people and the log: "3 API keys from FILE and the TLS certificate FILE".
    public var summary: String
    /// Lines of the keys file now in use; 0 without a keys file.
    public var keys: Int
    /// Whether the TLS files were read again.
    public var tls: Bool

    public init(summary: String, keys: Int, tls: Bool) {
        self.summary = summary
        self.keys = keys
        self.tls = tls
    }
}
