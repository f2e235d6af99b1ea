// The audit log of `quiver serve --audit-log FILE`: one JSON line per write call, per admin call
// and per refused call (UNAUTHENTICATED, PERMISSION_DENIED), appended with one write(2) each so
// that lines from concurrent calls never interleave. A call's line is written before its reply
// is sent: an admin call that was answered is on record. The key itself is never written, only
// its label. SIGHUP reopens the file (for logrotate: rename, then SIGHUP).
//
// The file is opened with O_APPEND and written without fsync: the audit log records what the
// server answered, durable as the system's page cache, as a log file of any server; the data's
// durability is RocksDB's WAL's.
import Foundation
import QuiverCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One line of the audit log.
struct AuditEntry: Sendable {
    var method: String
    var peer: String
    /// The key's label; nil for calls without one (no keys on the server, or a refused call
    /// that presented none or an unknown one).
    var key: String?
    var collection: String?
    /// Records written or deleted, for write calls that succeeded.
    var records: Int?
    /// `OK`, or the Quiver error code.
    var code: String
}

final class AuditLog: Sendable {
    let path: String
    private let descriptor: Mutex<Int32>

    /// Opens (creating, mode 0600) `path` for appending.
    init(path: String) throws(QuiverError) {
        self.path = path
        descriptor = Mutex(try Self.open(path))
    }

    private static func open(_ path: String) throws(QuiverError) -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw QuiverError(.io, .unknown, "cannot open the audit log \(path): \(String(cString: strerror(errno)))", value: path)
        }
        return fd
    }

    /// Closes the file and opens `path` again (after logrotate renamed it).
    func reopen() throws(QuiverError) {
        let fresh = try Self.open(path)
        let old = descriptor.withLock { fd in
            defer { fd = fresh }
            return fd
        }
        close(old)
    }

    func write(_ entry: AuditEntry) {
        var object: [String: Any] = [
            // UTC with its "Z": log shippers must not guess the zone.
            "time": Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date()),
            "method": entry.method, "peer": entry.peer, "code": entry.code,
        ]
        object["key"] = entry.key ?? NSNull()
        if let collection = entry.collection { object["collection"] = collection }
        if let records = entry.records { object["records"] = records }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(UInt8(ascii: "\n"))
        descriptor.withLock { fd in
            _ = line.withUnsafeBytes { bytes in Glibc.write(fd, bytes.baseAddress, bytes.count) }
        }
    }

    deinit { close(descriptor.withLock { $0 }) }
}
