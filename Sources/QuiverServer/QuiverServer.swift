import Logging
import NIOCore
import QuiverAuth
import QuiverCore
import QuiverEngine
import QuiverProto
import QuiverWire

/// How `quiver serve` runs.
public struct ServerOptions: Sendable {
    /// Default `./data`.
    public var dataDirectory: String
    /// Default `127.0.0.1:7733`. Port 0 picks a free port (see `QuiverServer.run`).
    public var listen: ServerAddress
    /// Largest request message accepted; bigger ones fail with RESOURCE_EXHAUSTED. Also the
    /// largest result one read may return (`DatabaseOptions.resultBytesMax`): a search, get or
    /// query whose result would be larger fails with RESOURCE_EXHAUSTED/`responseTooLarge` before
    /// it builds it. Default 64 MiB.
    public var maxMessageBytes: Int
    /// When set, every call but Health needs a key with a sufficient role.
    public var apiKeys: APIKeys?
    /// The file `apiKeys` came from, read again by `reloadCredentials`.
    public var apiKeysFile: String?
    /// Calls (HTTP/2 streams) one connection may have open at once, advertised to clients in the
    /// connection's SETTINGS (`SETTINGS_MAX_CONCURRENT_STREAMS`). Clients keep further calls
    /// queued until one ends, as every gRPC client does with this setting. Default 100, which
    /// is what NIOHTTP2 enforces when nothing is advertised — without the advertisement a client
    /// that opened a 101st stream had its whole connection closed with a PROTOCOL_ERROR GOAWAY.
    /// More streams per connection cost memory (each holds its request, up to `maxMessageBytes`).
    public var maxConcurrentStreams: Int
    /// Set: the port speaks TLS only (with client certificates required when it names a client
    /// CA); plaintext clients get every call refused with UNAVAILABLE saying so.
    public var tls: TLSFiles?
    /// Set: write, admin and refused calls are appended to this file as JSON lines (`AuditLog`).
    public var auditLog: String?
    public var database: DatabaseOptions
    public var logger: Logger

    public static let maxMessageBytesDefault = 64 << 20
    public static let maxConcurrentStreamsDefault = 100
    /// Limits of `maxConcurrentStreams`.
    public static let maxConcurrentStreamsRange = 1...10_000
    /// What connections may cost the server (`ConnectionLimits`).
    public var connectionLimits = ConnectionLimits()

    public init(
        dataDirectory: String = "./data", listen: ServerAddress = .loopbackDefault,
        maxMessageBytes: Int = ServerOptions.maxMessageBytesDefault, apiKeys: APIKeys? = nil, apiKeysFile: String? = nil,
        maxConcurrentStreams: Int = ServerOptions.maxConcurrentStreamsDefault, tls: TLSFiles? = nil, auditLog: String? = nil,
        database: DatabaseOptions = DatabaseOptions(), logger: Logger = Logger(label: "quiver.server")
    ) {
        self.tls = tls
        self.auditLog = auditLog
        self.dataDirectory = dataDirectory
        self.listen = listen
        self.maxMessageBytes = maxMessageBytes
        self.apiKeys = apiKeys
        self.apiKeysFile = apiKeysFile
        self.maxConcurrentStreams = maxConcurrentStreams
        self.database = database
        self.logger = logger
    }
}

/// The Quiver gRPC server: the four services of `proto/quiver/v1` over HTTP/2 (plaintext or TLS) on top
/// of one `Database`, served by Quiver's own gRPC dispatch over NIOHTTP2 (`Transport/`).
///
/// Lifecycle: `open` opens the database and prepares the server; `run` binds, serves, and when
/// `beginGracefulShutdown` is called stops accepting connections and calls, lets the calls in
/// flight finish, then closes the database and returns.
public final class QuiverServer: Sendable {
    public static let version = "0.2.0"

    public let options: ServerOptions
    let database: Database
    private let state: ServerState
    private let transport: GRPCTransport
    let credentials: Credentials
    let audit: AuditLog?

    private init(options: ServerOptions, database: Database, credentials: Credentials, audit: AuditLog?) {
        self.credentials = credentials
        self.audit = audit
        self.options = options
        self.database = database
        state = ServerState(syncPolicy: options.database.syncPolicy)
        let calls = CallHandler(logger: options.logger, audit: audit)
        let methods = QuiverMethods.table(
            collections: CollectionService(database: database, calls: calls),
            data: DataService(database: database, calls: calls),
            search: SearchService(database: database, calls: calls),
            admin: AdminService(
                database: database, state: state, calls: calls,
                reloadCredentials: { () throws(QuiverError) in try Self.reload(credentials, audit: audit, logger: options.logger) }))
        transport = GRPCTransport(
            shared: .init(methods: methods, credentials: credentials, messageLimit: options.maxMessageBytes, logger: options.logger, audit: audit),
            maxConcurrentStreams: options.maxConcurrentStreams, limits: options.connectionLimits)
    }

    /// Loads the TLS files, if any, then opens the database. Nothing listens until `run`.
    public static func open(options: ServerOptions) async throws(QuiverError) -> QuiverServer {
        let credentials = try Credentials(keys: options.apiKeys, keysFile: options.apiKeysFile, tlsFiles: options.tls)
        let audit = try options.auditLog.map { path throws(QuiverError) in try AuditLog(path: path) }
        var databaseOptions = options.database
        databaseOptions.resultBytesMax = options.maxMessageBytes
        let database = try await Database.open(path: options.dataDirectory, options: databaseOptions)
        return QuiverServer(options: options, database: database, credentials: credentials, audit: audit)
    }

    /// Serves a database that is already open (`options.dataDirectory` and `options.database`
    /// are not used). `run` closes it when the server stops. For benchmarks that compare the
    /// same database in-process and over the wire.
    public static func serving(_ database: Database, options: ServerOptions) throws(QuiverError) -> QuiverServer {
        QuiverServer(
            options: options, database: database,
            credentials: try Credentials(keys: options.apiKeys, keysFile: options.apiKeysFile, tlsFiles: options.tls),
            audit: try options.auditLog.map { path throws(QuiverError) in try AuditLog(path: path) })
    }

    /// Reads the API keys file and the TLS files again and reopens the audit log (SIGHUP, and the
    /// admin call `ReloadCredentials`): new calls and connections use them, calls in flight and
    /// open connections go on as they are. A file that fails to load leaves the old keys and
    /// certificate in place and throws why (`credentialsNotReloaded`); either way the log says so.
    @discardableResult
    public func reloadCredentials() throws(QuiverError) -> CredentialsReload {
        try Self.reload(credentials, audit: audit, logger: options.logger)
    }

    fileprivate static func reload(_ credentials: Credentials, audit: AuditLog?, logger: Logger) throws(QuiverError) -> CredentialsReload {
        if let audit {
            do { try audit.reopen() } catch { logger.error("audit log not reopened", metadata: ["error": "\(error.message)"]) }
        }
        do {
            let outcome = try credentials.reload()
            logger.notice("credentials reloaded", metadata: ["reloaded": "\(outcome.summary)"])
            return outcome
        } catch {
            logger.error("credentials not reloaded; the old ones stay", metadata: ["error": "\(error.message)"])
            throw error
        }
    }

    /// Binds and serves until `beginGracefulShutdown`, then closes the database.
    ///
    /// - Parameter onListening: called once the socket is bound, with the real address (the port
    ///   the system chose when the options asked for port 0).
    public func run(onListening: @escaping @Sendable (ServerAddress) -> Void = { _ in }) async throws {
        let logger = options.logger
        let listen = options.listen
        let host = listen.host == "localhost" ? "127.0.0.1" : listen.host
        let served: Result<Void, any Error>
        do {
            let bound = try await transport.bind(host: host, port: listen.port)
            let address = ServerAddress(host: bound.ipAddress ?? host, port: bound.port ?? listen.port)
            logger.notice(
                "listening",
                metadata: ["address": "\(address)", "auth": "\(options.apiKeys.map { "\($0.count) API keys" } ?? "off")"])
            onListening(address)
            await transport.waitUntilDrained()
            served = .success(())
        } catch {
            served = .failure(error)
        }
        state.stopServing()
        do {
            try await database.close()
        } catch {
            logger.error("closing the database failed", metadata: ["error": "\(error)"])
            throw error
        }
        logger.notice("stopped")
        try served.get()
    }

    /// Stops accepting new connections and calls; the calls in flight finish, then `run` closes
    /// the database and returns. Health reports NOT_SERVING from now on.
    public func beginGracefulShutdown() {
        state.stopServing()
        transport.beginGracefulShutdown()
    }
}
