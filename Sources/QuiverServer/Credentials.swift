import QuiverAuth
import QuiverCore
import Synchronization

/// The API keys and the TLS context the server uses now, and the files they come from, so that
/// they can be read again without a restart (`QuiverServer.reloadCredentials`, SIGHUP).
///
/// A call reads the keys when it starts and a connection the TLS context when it is accepted, so
/// a reload changes what new calls and new connections get; calls in flight and open connections
/// are left alone. A reload reads every file before it changes anything: one that fails to load
/// leaves the old set in place.
final class Credentials: Sendable {
    private struct Current {
        var keys: APIKeys?
        var tls: ServerTLS?
    }

    let keysFile: String?
    let tlsFiles: TLSFiles?
    private let current: Mutex<Current>

    init(keys: APIKeys?, keysFile: String?, tlsFiles: TLSFiles?) throws(QuiverError) {
        self.keysFile = keysFile
        self.tlsFiles = tlsFiles
        let tls = try tlsFiles.map { files throws(QuiverError) in try ServerTLS(files) }
        current = Mutex(Current(keys: keys, tls: tls))
    }

    var keys: APIKeys? { current.withLock { $0.keys } }
    var tls: ServerTLS? { current.withLock { $0.tls } }
    /// Whether connections must speak TLS: fixed at start, whatever a reload finds.
    var requiresTLS: Bool { tlsFiles != nil }

    /// Reads the keys file and the TLS files again and, if all of them load, uses them from now
    /// on. A file that fails throws `failedPrecondition`/`credentialsNotReloaded` naming it.
    @discardableResult
    func reload() throws(QuiverError) -> CredentialsReload {
        let keys: APIKeys?
        let tls: ServerTLS?
        do {
            keys = try keysFile.map { path throws(QuiverError) in try APIKeys(file: path) }
            tls = try tlsFiles.map { files throws(QuiverError) in try ServerTLS(files) }
        } catch {
            throw QuiverError(
                .failedPrecondition, .credentialsNotReloaded, "nothing was reloaded, the keys and certificate in use stay: \(error.message)",
                value: error.value)
        }
        current.withLock { current in
            if let keys { current.keys = keys }
            if let tls { current.tls = tls }
        }
        var parts: [String] = []
        if let keys, let keysFile { parts.append("\(keys.count) API keys from \(keysFile)") }
        if let tlsFiles { parts.append("the TLS certificate \(tlsFiles.certificateChain)") }
        return CredentialsReload(
            summary: parts.isEmpty ? "nothing to reload (no --api-keys, no TLS)" : parts.joined(separator: " and "),
            keys: keys?.count ?? 0, tls: tls != nil)
    }
}
