#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import QuiverCore
import Synchronization

/// The directory of one Quiver database and the exclusive lock on it.
///
/// Layout (docs/architecture.md, "Data directory"):
///
///     <data>/quiver.lock   held (flock) by the one process that has the database open
///     <data>/rocksdb/      RocksDB: WAL, SST files, MANIFEST — the source of truth
///     <data>/segments/<collection id>/   index files (templates, indexed segments): derived data
///
/// The lock is Quiver's own rather than RocksDB's LOCK file so that a second process gets a clear
/// error naming the holder's pid, and so that tools can test for a running server.
public final class DataDirectory: Sendable {
    public let path: String
    private let lockDescriptor: Mutex<Int32?>

    public var rocksDBPath: String { path + "/rocksdb" }

    /// Where a collection's index files live: `<data>/segments/<collection id>`.
    public func segmentsPath(of collection: CollectionID) -> String { segmentsRoot + "/\(collection.rawValue)" }

    /// The directory that holds one directory of index files per collection.
    public var segmentsRoot: String { path + "/segments" }

    /// Creates the directory if needed and takes the lock.
    ///
    /// - Throws: `failedPrecondition` / `databaseLocked` when another process holds it.
    public init(path: String) throws(QuiverError) {
        let path = URL(fileURLWithPath: path).standardizedFileURL.path
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .io("create data directory \(path): \(error.localizedDescription)")
        }
        let lockPath = path + "/quiver.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("open \(lockPath): \(String(cString: strerror(errno)))") }
        // A child process started by this process (a test harness, an embedding application)
        // shares the lock's open file description from its fork until its exec closes it, so a
        // lock released a moment ago can still look held: retry for up to a second before
        // reporting the database as in use.
        let deadline = ContinuousClock.now + .seconds(1)
        var locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        while !locked, errno == EWOULDBLOCK, ContinuousClock.now < deadline {
            usleep(5_000)
            locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        }
        guard locked else {
            let holder = (try? String(contentsOfFile: lockPath, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw QuiverError(
                .failedPrecondition, .databaseLocked,
                "the database at \(path) is in use by another process (pid \(holder ?? "unknown"))",
                field: "data-dir", value: path)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        self.path = path
        lockDescriptor = Mutex(fd)
    }

    /// Releases the lock (closing the descriptor releases the flock); idempotent. Called when the
    /// database closes, so that another process can open it at once.
    public func unlock() {
        lockDescriptor.withLock { fd in
            if let descriptor = fd { close(descriptor) }
            fd = nil
        }
    }

    deinit { unlock() }
}
