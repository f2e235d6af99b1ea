import ArgumentParser
import Dispatch
import Foundation
import Logging
import Metrics
import Prometheus
import QuiverAuth
import QuiverCore
import QuiverEngine
import QuiverIndex
import QuiverServer
import QuiverWire
import Synchronization

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Quiver server.",
        discussion: """
            Serves the gRPC protocol of proto/quiver/v1 (docs/protocol.md) over HTTP/2: TLS with \
            --tls-cert and --tls-key, plaintext otherwise. Prints 'listening HOST:PORT' on \
            standard output once the socket is bound; logs go to standard error.

            SIGTERM or SIGINT shuts down gracefully: stop accepting, finish the calls in flight, \
            close the database. A second signal exits at once (acknowledged writes are durable \
            either way). SIGHUP reads the API keys file and the TLS files again: new calls and \
            connections use them, calls in flight go on; a file that fails to load keeps the old \
            set and the log says why.

            Safe by default: a non-loopback address needs TLS (--tls-cert, --tls-key) unless \
            --insecure-plaintext is given, and authentication (--api-keys or client certificates \
            with --tls-client-ca) unless --no-auth is given; both are checked before anything \
            listens. Loopback needs neither. API keys file: one 'KEY ROLE [LABEL]' per line, ROLE \
            read, write or admin; keys at least 16 characters. Set-up step by step: \
            docs/security.md.

            With --metrics HOST:PORT, Prometheus's text format is served at \
            http://HOST:PORT/metrics, and 'metrics HOST:PORT' is printed before the 'listening' \
            line. With TLS on, the metrics are served over HTTPS with the same certificate (and \
            client CA). Without --metrics-key-role anyone who reaches the port can read them \
            (collection names, sizes, call counts): keep it on loopback or a private network, or \
            require a key of that role as 'Authorization: Bearer KEY'. The metrics are listed in \
            docs/operations.md.
            """
    )

    @Option(help: ArgumentHelp("Database directory.", valueName: "dir"))
    var dataDir = "./data"

    @Option(help: ArgumentHelp("Address to listen on; port 0 picks a free port.", valueName: "host:port"))
    var listen = ServerAddress.loopbackDefault.description

    @Option(help: ArgumentHelp("Require API keys from this file (see below).", valueName: "file"))
    var apiKeys: String?

    @Option(help: ArgumentHelp("Serve TLS with this PEM certificate chain (server certificate first).", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Option(help: ArgumentHelp(
        "Require client certificates signed by a CA in this PEM file (mTLS); needs --tls-cert.", valueName: "file"))
    var tlsClientCa: String?

    @Option(help: ArgumentHelp(
        "Append one JSON line per write, admin and refused call to this file (reopened on SIGHUP).", valueName: "file"))
    var auditLog: String?

    @Flag(help: "Allow plaintext on a non-loopback address (keys and data cross the network in the clear).")
    var insecurePlaintext = false

    @Flag(help: "Allow a non-loopback address without API keys or client certificates (anyone who reaches it has full access).")
    var noAuth = false

    @Option(help: ArgumentHelp(
        "When writes are fsynced: always (default), batch, batch:<N>ms, or none (unsafe: a power loss can lose acknowledged writes).",
        valueName: "policy"))
    var sync = "always"

    @Option(help: ArgumentHelp("Largest request message in bytes; larger ones get RESOURCE_EXHAUSTED.", valueName: "bytes"))
    var maxMessageBytes = ServerOptions.maxMessageBytesDefault

    @Option(help: ArgumentHelp(
        "Calls one connection may have open at once, advertised to clients (they queue the rest), 1–10000.", valueName: "n"))
    var maxConcurrentStreams = ServerOptions.maxConcurrentStreamsDefault

    @Option(help: ArgumentHelp("Open connections at most (more are closed as they are accepted), 1–100000.", valueName: "n"))
    var maxConnections = ConnectionLimits.maxConnectionsDefault

    @Option(help: ArgumentHelp(
        "Seconds after which a connection without calls that sends nothing is closed (GOAWAY); also bounds the TLS and HTTP/2 handshake (at most 10 s). 1–86400.",
        valueName: "seconds"))
    var idleTimeoutSeconds = 300

    @Option(help: ArgumentHelp(
        "Seconds of silence on a connection with calls before the server sends a keepalive PING; a connection that answers nothing for 20 s more is closed. 1–86400.",
        valueName: "seconds"))
    var keepaliveSeconds = 60

    @Option(help: ArgumentHelp(
        "Seconds after which a failed index build or compaction (a full disk, an I/O error) is tried again, 1–3600.",
        valueName: "seconds"))
    var maintenanceRetrySeconds = 30

    @Option(help: ArgumentHelp("Threads for searches and reads (default: one per core).", valueName: "n"))
    var searchThreads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical. Calls log at debug.", valueName: "level"))
    var logLevel = "info"

    @Option(help: ArgumentHelp("Serve Prometheus metrics over HTTP at this address (path /metrics); port 0 picks a free port.", valueName: "host:port"))
    var metrics: String?

    @Option(help: ArgumentHelp(
        "Require a key (or mapped client certificate) of this role to read --metrics: read, write or admin; needs --api-keys.",
        valueName: "role"))
    var metricsKeyRole: String?

    func validate() throws {
        guard SyncPolicy(parsing: sync) != nil else {
            throw ValidationError("--sync must be always, batch, batch:<1-1000>ms or none, not '\(sync)'")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        guard (1_024...(1 << 30)).contains(maxMessageBytes) else {
            throw ValidationError("--max-message-bytes must be between 1024 and 1073741824")
        }
        guard (1...256).contains(searchThreads) else { throw ValidationError("--search-threads must be between 1 and 256") }
        guard (1...3_600).contains(maintenanceRetrySeconds) else {
            throw ValidationError("--maintenance-retry-seconds must be between 1 and 3600")
        }
        guard ServerOptions.maxConcurrentStreamsRange.contains(maxConcurrentStreams) else {
            throw ValidationError("--max-concurrent-streams must be between 1 and 10000")
        }
        guard ConnectionLimits.maxConnectionsRange.contains(maxConnections) else {
            throw ValidationError("--max-connections must be between 1 and 100000")
        }
        guard (1...86_400).contains(idleTimeoutSeconds), (1...86_400).contains(keepaliveSeconds) else {
            throw ValidationError("--idle-timeout-seconds and --keepalive-seconds must be between 1 and 86400")
        }
        if let metricsKeyRole {
            guard Role(name: metricsKeyRole) != nil else {
                throw ValidationError("--metrics-key-role must be read, write or admin, not '\(metricsKeyRole)'")
            }
            guard metrics != nil else { throw ValidationError("--metrics-key-role needs --metrics") }
            guard apiKeys != nil else { throw ValidationError("--metrics-key-role needs --api-keys (the keys it checks)") }
        }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard tlsClientCa == nil || tlsCert != nil else { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key") }
        // Before anything is opened or bound: no byte leaves the machine unprotected by mistake.
        let address: ServerAddress
        do { address = try ServerAddress(parsing: listen) } catch { throw ValidationError(error.message) }
        if !address.isLoopback {
            if tlsCert == nil && !insecurePlaintext {
                throw ValidationError(
                    "refusing to listen on \(address) without TLS: API keys and data would cross the network in the clear. "
                        + "Give --tls-cert and --tls-key (docs/security.md), listen on 127.0.0.1, or pass --insecure-plaintext")
            }
            if apiKeys == nil && tlsClientCa == nil && !noAuth {
                throw ValidationError(
                    "refusing to listen on \(address) without authentication: anyone who reaches it could read, change and drop every collection. "
                        + "Give --api-keys FILE or --tls-client-ca FILE (docs/security.md), listen on 127.0.0.1, or pass --no-auth")
            }
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "quiver")
        // FAISS (OpenMP) and OpenBLAS would each start one thread per core; searches run on
        // Quiver's own pool instead (docs/architecture.md, "Threads").
        ComputeThreads.configure(openMP: 1, blas: 1)

        let address: ServerAddress
        let keys: APIKeys?
        let metricsAddress: ServerAddress?
        do {
            address = try ServerAddress(parsing: listen)
            keys = try apiKeys.map { path throws(QuiverError) in try APIKeys(file: path) }
            metricsAddress = try metrics.map { text throws(QuiverError) in try ServerAddress(parsing: text) }
        } catch {
            throw ValidationError(error.message)
        }
        // Before anything records a metric: swift-metrics binds each metric to the backend when
        // the metric is created.
        let registry = PrometheusCollectorRegistry()
        if metricsAddress != nil { MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry)) }
        if !address.isLoopback {
            // Only reached with --no-auth or --insecure-plaintext (validate refuses otherwise).
            if keys == nil && tlsClientCa == nil {
                logger.warning("authentication is off on a non-loopback address (--no-auth)", metadata: ["address": "\(address)"])
            }
            if tlsCert == nil {
                logger.warning("TLS is off on a non-loopback address (--insecure-plaintext)", metadata: ["address": "\(address)"])
            }
        }
        let tls = tlsCert.map { TLSFiles(certificateChain: $0, privateKey: tlsKey!, clientCA: tlsClientCa) }

        var database = DatabaseOptions(
            syncPolicy: SyncPolicy(parsing: sync)!, searchThreads: searchThreads, logger: Logger(label: "quiver.engine"))
        database.maintenanceRetryDelay = .seconds(maintenanceRetrySeconds)
        var options = ServerOptions(
            dataDirectory: dataDir, listen: address, maxMessageBytes: maxMessageBytes, apiKeys: keys, apiKeysFile: apiKeys,
            maxConcurrentStreams: maxConcurrentStreams, tls: tls, auditLog: auditLog, database: database, logger: Logger(label: "quiver.server"))
        options.connectionLimits = ConnectionLimits(
            maxConnections: maxConnections, idleTimeout: .seconds(Int64(idleTimeoutSeconds)), keepaliveInterval: .seconds(Int64(keepaliveSeconds)))
        let server: QuiverServer
        do {
            server = try await QuiverServer.open(options: options)
        } catch {
            logger.critical("cannot open the database", metadata: ["error": "\(error.message)"])
            throw ExitCode(1)
        }
        let signals = SignalHandling(logger: logger) { server.beginGracefulShutdown() }
        defer { signals.cancel() }
        // SIGHUP: read the keys file and the certificate files again (the server logs the outcome).
        let reload = SignalHandling.onHangUp { _ = try? server.reloadCredentials() }
        defer { reload.cancel() }
        var endpoint: MetricsEndpoint?
        if let metricsAddress {
            do {
                endpoint = try await server.serveMetrics(at: metricsAddress, registry: registry, keyRole: metricsKeyRole.flatMap { Role(name: $0) })
            } catch {
                logger.critical("cannot serve metrics", metadata: ["address": "\(metricsAddress)", "error": "\(error)"])
                server.beginGracefulShutdown()
                try? await server.run()
                throw ExitCode(1)
            }
            logger.notice("metrics", metadata: ["address": "\(endpoint!.address)"])
            FileHandle.standardOutput.write(Data("metrics \(endpoint!.address)\n".utf8))
        }
        do {
            try await server.run { bound in
                // One unbuffered write: scripts and tests wait for this line.
                FileHandle.standardOutput.write(Data("listening \(bound)\n".utf8))
            }
        } catch {
            await endpoint?.close()
            throw error
        }
        await endpoint?.close()
    }
}

/// First SIGTERM/SIGINT: graceful shutdown. Second: exit at once.
final class SignalHandling {
    private let sources: [any DispatchSourceSignal]

    private final class Count: Sendable {
        let value = Atomic<Int>(0)
    }

    init(logger: Logger, onFirst: @escaping @Sendable () -> Void) {
        let received = Count()
        let queue = DispatchQueue(label: "quiver.signals")
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            sources.append(source)
        }
        self.sources = sources
        for (source, name) in zip(sources, ["SIGTERM", "SIGINT"]) {
            source.setEventHandler {
                if received.value.add(1, ordering: .relaxed).newValue == 1 {
                    logger.notice("shutting down gracefully; signal again to exit at once", metadata: ["signal": "\(name)"])
                    onFirst()
                } else {
                    logger.warning("exiting at once", metadata: ["signal": "\(name)"])
                    exit(130)
                }
            }
            source.resume()
        }
    }

    func cancel() { sources.forEach { $0.cancel() } }

    /// Runs `body` on every SIGHUP.
    static func onHangUp(_ body: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "quiver.reload"))
        source.setEventHandler(handler: body)
        source.resume()
        return source
    }
}
