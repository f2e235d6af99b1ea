import Foundation
import QuiverCore
import QuiverStorage
import Synchronization

/// Where a database's index files live, and when they may be deleted.
///
/// Each indexed segment has one file, `<data>/segments/<collection id>/<segment id>.ivf`
/// (docs/architecture.md, "Data directory"). Builds and compactions write new files; compaction
/// and a dropped collection's reclaim delete old ones. A backup copies the files its RocksDB
/// checkpoint's manifests name, so while one runs it holds the deletions back: `holdDeletions`
/// before the checkpoint, `releaseDeletions` after the copy, and every deletion asked for in
/// between happens at the release (of the last backup, when several overlap). A file deleted late
/// is harmless: nothing names it any more, and the next open would delete it anyway.
///
/// The alternative, hard links taken at checkpoint time (as RocksDB's own checkpoint does), would
/// let deletions go ahead, but needs the backup on the same file system as the data.
final class SegmentFiles: Sendable {
    private let directory: DataDirectory
    /// Backups in progress, and the deletions they hold back.
    private let holds = Mutex<(count: Int, deferred: [String])>((0, []))

    init(directory: DataDirectory) {
        self.directory = directory
    }

    /// The index file of a segment.
    func path(_ collection: CollectionID, _ segment: SegmentID) -> String {
        directory.segmentsPath(of: collection) + "/\(segment.rawValue).ivf"
    }

    /// The directory of a collection's index files.
    func directoryPath(_ collection: CollectionID) -> String { directory.segmentsPath(of: collection) }

    /// Holds back deletions until the matching `releaseDeletions` (for a backup).
    func holdDeletions() { holds.withLock { $0.count += 1 } }

    /// Ends one hold; the last one performs the deletions held back.
    func releaseDeletions() {
        let paths = holds.withLock { holds -> [String] in
            precondition(holds.count > 0, "a release without a hold")
            holds.count -= 1
            guard holds.count == 0 else { return [] }
            defer { holds.deferred = [] }
            return holds.deferred
        }
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Deletes a file or directory now, or once no backup holds deletions back. A file that is
    /// already gone is no error.
    func delete(_ path: String) {
        let now = holds.withLock { holds -> Bool in
            guard holds.count > 0 else { return true }
            holds.deferred.append(path)
            return false
        }
        if now { try? FileManager.default.removeItem(atPath: path) }
    }
}
