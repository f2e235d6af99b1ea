import ArgumentParser
import Foundation
import QuiverClient
import QuiverCore
import QuiverEngine

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Back up the whole database while the server keeps serving (admin role).",
        discussion: """
            The server writes the backup to DEST on its own machine: a RocksDB checkpoint (every \
            collection at one instant) and the index files it names, each verified as it is \
            copied. DEST must not exist or be empty. Restore it with `quiver restore DEST \
            --data-dir DIR` while no server uses DIR (docs/operations.md).
            """)

    @Argument(help: "Destination directory, on the server's machine.") var destination: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let summary = try await client.run { try await $0.backup(to: destination) }
        BackupFormat.emit(summary, verb: "backed up", client: client)
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a servable database from a backup, verifying it (offline).",
        discussion: """
            Copies the backup into --data-dir (which must not exist or be empty) and verifies it: \
            every index file against its manifest checksum, every stored row by a full scan. On \
            any failure the directory is removed again and the command exits non-zero. Then \
            `quiver serve --data-dir DIR` serves it.
            """)

    @Argument(help: "The backup directory.") var source: String

    @Option(help: ArgumentHelp("Directory to restore into.", valueName: "dir"))
    var dataDir: String

    @Flag(help: "Print the summary as JSON.") var json = false

    func run() async throws {
        do {
            let summary = try Database.restore(from: source, to: dataDir)
            if json {
                print(
                    JSONValue.object([
                        ("path", .string(summary.path)), ("collections", .int(Int64(summary.collections))),
                        ("rows", .int(Int64(summary.rows ?? 0))), ("segment_files", .int(Int64(summary.segmentFiles))),
                        ("bytes", .int(Int64(summary.bytes))),
                    ]).rendered)
            } else {
                print(
                    "restored \(summary.collections) collections, \(summary.rows ?? 0) rows, \(summary.segmentFiles) index files verified into \(summary.path)")
            }
        } catch {
            FileHandle.standardError.write(Data("error: \(error.message) [\(error.code.rawValue)/\(error.reason.rawValue)]\n".utf8))
            throw ExitCode(1)
        }
    }
}

enum BackupFormat {
    static func emit(_ summary: BackupSummary, verb: String, client: ClientOptions) {
        if client.json {
            client.print(
                .object([
                    ("path", .string(summary.path)), ("collections", .int(Int64(summary.collections))),
                    ("segment_files", .int(Int64(summary.segmentFiles))), ("bytes", .int(Int64(summary.bytes))),
                ]))
        } else {
            print(
                "\(verb) \(summary.collections) collections and \(summary.segmentFiles) index files (\(ByteCountFormatter.string(fromByteCount: Int64(summary.bytes), countStyle: .file))) to \(summary.path)")
        }
    }
}
