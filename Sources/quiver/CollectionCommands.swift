import ArgumentParser
import Foundation
import QuiverClient
import QuiverCore
import QuiverEngine

struct CollectionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collection",
        abstract: "Create, list, describe and drop collections.",
        discussion: """
            Through a server by default (--server); with --data-dir DIR on a stopped database, in \
            this process (for example to create a collection before an offline `quiver import \
            --data-dir`). A database a server holds is refused with databaseLocked.
            """,
        subcommands: [Create.self, List.self, Describe.self, Drop.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a collection.",
            discussion: """
                Fields: --field NAME:TYPE[:required], repeatable. TYPE is int64, double, bool, \
                string or tags (a list of strings). Fields are nullable unless marked required. \
                Example: quiver collection create docs --dim 384 --metric cosine \
                --field title:string:required --field year:int64 --field labels:tags
                """)

        @Argument(help: "Collection name: letters, digits, '_' or '-', starting with a letter.")
        var name: String

        @Option(name: [.customLong("dim"), .customLong("dimension")], help: "Vector dimension, 1–4096.")
        var dimension: Int

        @Option(help: "l2 (squared distance), ip (inner product) or cosine.")
        var metric: String

        @Option(name: .customLong("field"), help: ArgumentHelp("A scalar field.", valueName: "name:type[:required]"))
        var fields: [String] = []

        @Option(help: ArgumentHelp("IVF codes of indexed segments: flat (default), sq8 or pqM (M divides the dimension).", valueName: "codes"))
        var codes = "flat"

        @Option(help: "Coarse lists (default: about 4·√rows when the first segment is indexed).")
        var nlist: Int?

        @Option(help: "Lists probed by searches that do not say, at least (more where k or a filter need them; default: none, searches aim at --recall); instead of --recall.")
        var nprobe: Int?

        @Option(help: ArgumentHelp("The recall@k searches that do not say aim for, 0.5–1 (default 0.95); instead of --nprobe.", valueName: "target"))
        var recall: Double?

        @Option(help: "Rows at which the growing segment is sealed (default: about 64 MiB of vectors).")
        var segmentRows: Int?

        @Option(help: "Seal a growing segment with rows once it is this many seconds old.")
        var sealAfter = 600

        @Flag(help: "LZ4-compress index files.")
        var compressFiles = false

        @OptionGroup var client: ClientOptions
        @OptionGroup var offline: OfflineOptions

        func run() async throws {
            guard let metric = Metric(rawValue: metric) else {
                throw ValidationError("--metric must be l2, ip or cosine, not '\(metric)'")
            }
            guard let codes = IVFCodes(parsing: codes) else { throw ValidationError("--codes must be flat, sq8 or pqM, not '\(codes)'") }
            let fieldSchemas = try fields.map(Self.parseField)
            let index = IndexSettings(
                codes: codes, nlist: nlist, nprobe: nprobe, recallTarget: recall, segmentRows: segmentRows, sealAfterSeconds: sealAfter,
                compressFiles: compressFiles)
            let schema = CollectionSchema(name: name, dimension: dimension, metric: metric, fields: fieldSchemas, index: index)
            let info = try await offline.run(
                client, offline: { try await $0.createCollection(schema) }, online: { try await $0.createCollection(schema) })
            if client.json { client.print(CollectionFormat.json(info)) } else { print("created collection \(info.name)") }
        }

        static func parseField(_ text: String) throws -> FieldSchema {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 || (parts.count == 3 && parts[2] == "required"), let type = FieldType(rawValue: parts[1]) else {
                throw ValidationError(
                    "--field '\(text)' is not NAME:TYPE or NAME:TYPE:required with TYPE int64, double, bool, string or tags")
            }
            return FieldSchema(name: parts[0], type: type, nullable: parts.count == 2)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the collections.")

        @OptionGroup var client: ClientOptions
        @OptionGroup var offline: OfflineOptions

        func run() async throws {
            let infos = try await offline.run(client, offline: { try $0.listCollections() }, online: { try await $0.listCollections() })
            if client.json {
                client.print(.array(infos.map(CollectionFormat.json)))
                return
            }
            guard !infos.isEmpty else {
                print("no collections")
                return
            }
            let rows = infos.map { [$0.name, String($0.schema.dimension), $0.schema.metric.rawValue, String($0.rows), String($0.schema.fields.count)] }
            print(Table.render(header: ["NAME", "DIM", "METRIC", "ROWS", "FIELDS"], rows: rows))
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a collection's schema and size.")

        @Argument var name: String
        @OptionGroup var client: ClientOptions
        @OptionGroup var offline: OfflineOptions

        func run() async throws {
            let info = try await offline.run(
                client, offline: { try $0.describeCollection(name) }, online: { try await $0.describeCollection(name) })
            if client.json {
                client.print(CollectionFormat.json(info))
                return
            }
            let created = Date(timeIntervalSince1970: Double(info.createdAtMilliseconds) / 1000)
            let index = info.schema.index
            print("""
                name:      \(info.name)
                dimension: \(info.schema.dimension)
                metric:    \(info.schema.metric)
                rows:      \(info.rows)
                memory:    \(ByteCountFormatter.string(fromByteCount: Int64(info.memoryBytes), countStyle: .memory))
                created:   \(ISO8601DateFormatter().string(from: created))
                index:     \(index.codes), nlist \(info.nlist.map(String.init) ?? index.nlist.map(String.init) ?? "auto"), \(index.recallTarget.map { "recall target \($0)" } ?? "nprobe \(index.nprobe.map(String.init) ?? "auto")")
                segments:  \(CollectionFormat.phaseCounts(info).filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }.joined(separator: ", "))\(info.pending ? " (background work pending)" : "")
                """)
            if info.schema.fields.isEmpty {
                print("fields:    none")
            } else {
                print("fields:")
                print(Table.render(
                    header: ["  NAME", "TYPE", "NULL"],
                    rows: info.schema.fields.map { ["  " + $0.name, $0.type.rawValue, $0.nullable ? "nullable" : "required"] }))
            }
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop a collection and all of its data.")

        @Argument var name: String
        @OptionGroup var client: ClientOptions
        @OptionGroup var offline: OfflineOptions

        func run() async throws {
            try await offline.run(client, offline: { try await $0.dropCollection(name) }, online: { try await $0.dropCollection(name) })
            if client.json { client.print(.object([("dropped", .string(name))])) } else { print("dropped collection \(name)") }
        }
    }
}

enum CollectionFormat {
    static func phaseCounts(_ info: CollectionInfo) -> [(String, Int)] {
        SegmentPhase.allCases.map { phase in
            (phase.rawValue, info.segments.filter { $0.phase == phase }.count)
        }
    }

    static func json(_ info: CollectionInfo) -> JSONValue {
        let index = info.schema.index
        return .object([
            ("name", .string(info.name)), ("dimension", .int(Int64(info.schema.dimension))),
            ("metric", .string(info.schema.metric.rawValue)), ("rows", .int(Int64(info.rows))),
            ("memory_bytes", .int(Int64(info.memoryBytes))), ("created_at_ms", .int(info.createdAtMilliseconds)),
            ("pending", .bool(info.pending)),
            ("segments", .object(phaseCounts(info).map { ($0.0, .int(Int64($0.1))) })),
            (
                "index",
                .object([
                    ("codes", .string(index.codes.description)), ("nlist", info.nlist.map { .int(Int64($0)) } ?? .null),
                    ("nprobe", index.nprobe.map { .int(Int64($0)) } ?? .null),
                    ("recall_target", index.recallTarget.map { .double($0) } ?? .null),
                    ("segment_rows", .int(Int64(index.effectiveSegmentRows(dimension: info.schema.dimension)))),
                ])
            ),
            (
                "fields",
                .array(info.schema.fields.map {
                    .object([("name", .string($0.name)), ("type", .string($0.type.rawValue)), ("required", .bool(!$0.nullable))])
                })
            ),
        ])
    }
}

/// Left-aligned columns for people.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
