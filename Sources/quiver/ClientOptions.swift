import ArgumentParser
import Foundation
import QuiverClient
import QuiverCore
import QuiverWire

/// Options every verb that talks to a server shares.
struct ClientOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Server address HOST:PORT. Default: $QUIVER_SERVER, else 127.0.0.1:7733.", valueName: "host:port"))
    var server: String?

    @Option(help: ArgumentHelp(
        "API key, sent as 'authorization: Bearer <key>'. Default: $QUIVER_API_KEY.", valueName: "key"))
    var apiKey: String?

    @Option(help: ArgumentHelp("Deadline of each call in seconds (none by default).", valueName: "seconds"))
    var timeout: Double?

    @Flag(help: "Connect over TLS, trusting the system's CAs (implied by --tls-ca, --tls-cert and their variables).")
    var tls = false

    @Option(help: ArgumentHelp("Trust the server certificates this PEM CA file signed. Default: $QUIVER_TLS_CA.", valueName: "file"))
    var tlsCa: String?

    @Option(help: ArgumentHelp(
        "Client certificate (PEM) for a server that requires one (mTLS). Default: $QUIVER_TLS_CERT.", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("PEM private key of --tls-cert. Default: $QUIVER_TLS_KEY.", valueName: "file"))
    var tlsKey: String?

    @Flag(help: "Machine-readable output: JSON (one object per line where there are several).")
    var json = false

    func clientOptions() throws -> QuiverClient.Options {
        let environment = ProcessInfo.processInfo.environment
        let address = try ServerAddress(parsing: server ?? environment["QUIVER_SERVER"] ?? ServerAddress.loopbackDefault.description)
        let key = apiKey ?? environment["QUIVER_API_KEY"]
        func setting(_ flag: String?, _ variable: String) -> String? {
            let value = flag ?? environment[variable]
            return value?.isEmpty == true ? nil : value
        }
        let ca = setting(tlsCa, "QUIVER_TLS_CA")
        let certificate = setting(tlsCert, "QUIVER_TLS_CERT")
        let certificateKey = setting(tlsKey, "QUIVER_TLS_KEY")
        let secure = tls || ca != nil || certificate != nil || certificateKey != nil
        return QuiverClient.Options(
            server: address, apiKey: key?.isEmpty == true ? nil : key, timeout: timeout.map { .milliseconds(Int($0 * 1000)) },
            tls: secure ? QuiverClient.TLS(caFile: ca, certificateFile: certificate, keyFile: certificateKey) : nil)
    }

    /// Connects, runs `body`, and reports a failure as `error: …` (or a JSON object with --json)
    /// on standard error with exit status 1.
    func run<T: Sendable>(_ body: (QuiverClient) async throws -> T) async throws -> T {
        do {
            return try await QuiverClient.withClient(try clientOptions(), body)
        } catch let error as QuiverError {
            report(error)
            throw ExitCode(1)
        } catch let error as ExitCode {
            throw error
        } catch {
            report(WireError.quiverError(error))
            throw ExitCode(1)
        }
    }

    func report(_ error: QuiverError) {
        let text: String
        if json {
            var pairs: [(String, JSONValue)] = [
                ("code", .string(error.code.rawValue)), ("reason", .string(error.reason.rawValue)),
                ("message", .string(error.message)),
            ]
            if let collection = error.collection { pairs.append(("collection", .string(collection))) }
            if let field = error.field { pairs.append(("field", .string(field))) }
            if let value = error.value { pairs.append(("value", .string(value))) }
            text = JSONValue.object([("error", .object(pairs))]).rendered
        } else {
            text = "error: \(error.message) [\(error.code.rawValue)/\(error.reason.rawValue)]"
        }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    func print(_ value: JSONValue) {
        Swift.print(value.rendered)
    }
}

/// A failure of the CLI's own (reading an input file, parsing a flag), reported like a server
/// error: `error: …` and exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension ClientOptions {
    /// Runs `body`, turning a `CLIError` into a `QuiverError`-style report.
    func checked<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as CLIError {
            report(QuiverError(.invalidArgument, .malformedRequest, error.description))
            throw ExitCode(1)
        }
    }
}
