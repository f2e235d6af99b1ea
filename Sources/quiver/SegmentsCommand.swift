import ArgumentParser
import Foundation
import QuiverClient
import QuiverCore

/// `quiver segments …`: see inside a collection's segments and act on them (admin role).
struct SegmentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segments",
        abstract: "List, inspect, seal, compact and rebuild a collection's segments (admin role).",
        subcommands: [List.self, Show.self, Seal.self, Compact.self, Rebuild.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per segment: id, state, rows, deleted rows, codes, nlist, memory, disk, created and indexed times.")

        @Argument(help: "Collection name.") var name: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let (segments, pending) = try await client.run { try await $0.listSegments(name) }
            SegmentsFormat.emit(segments, pending: pending, client: client)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One segment with the health of its index.",
            discussion: """
                Shows the segment's line from `segments list`, its tombstone ratio (compaction \
                rewrites a segment above 0.2) and, for an indexed segment, its IVF list sizes: \
                imbalance is the largest list over the mean (1 is balanced). --check-recall N \
                searches N of the segment's stored vectors through its index at the collection's \
                default nprobe and exactly over its vectors read from storage, and reports the \
                index's recall@10: a falling recall with stable data means the centroids drifted \
                from the data, and `segments rebuild` (or retraining, as the collection grows) helps.
                """)

        @Argument(help: "Collection name.") var name: String
        @Argument(help: "Segment id (from `segments list`).") var segment: UInt32

        @Option(help: "Stored vectors to use as queries for a recall@10 self-check, 1–10000 (indexed segments).")
        var checkRecall: Int?

        @OptionGroup var client: ClientOptions

        func validate() throws {
            if let checkRecall, !(1...Limits.recallCheckQueriesMax).contains(checkRecall) {
                throw ValidationError("--check-recall must be between 1 and \(Limits.recallCheckQueriesMax)")
            }
        }

        func run() async throws {
            let health = try await client.run {
                try await $0.segmentHealth(name, segment: SegmentID(segment), checkRecall: checkRecall ?? 0)
            }
            if client.json {
                var pairs = SegmentsFormat.pairs(health.info)
                pairs.append(("tombstone_ratio", .double(health.tombstoneRatio)))
                if let lists = health.lists {
                    pairs.append((
                        "lists",
                        .object([
                            ("count", .int(Int64(lists.count))), ("empty", .int(Int64(lists.empty))),
                            ("smallest", .int(Int64(lists.smallest))), ("largest", .int(Int64(lists.largest))),
                            ("mean", .double(lists.mean)), ("imbalance", .double(lists.imbalance)), ("variation", .double(lists.variation)),
                        ])
                    ))
                }
                if let recall = health.recall {
                    pairs.append((
                        "recall_check",
                        .object([
                            ("queries", .int(Int64(recall.queries))), ("k", .int(Int64(recall.k))), ("nprobe", .int(Int64(recall.nprobe))),
                            ("recall", .double(recall.recall)),
                        ])
                    ))
                }
                client.print(.object(pairs))
                return
            }
            SegmentsFormat.emit([health.info], pending: false, client: client)
            print("tombstones: \(String(format: "%.3f", health.tombstoneRatio)) of rows deleted")
            if let lists = health.lists {
                print(
                    "lists:      \(lists.count) (\(lists.empty) empty), sizes \(lists.smallest)–\(lists.largest), mean \(String(format: "%.1f", lists.mean)), "
                        + "imbalance \(String(format: "%.2f", lists.imbalance)) (largest / mean), variation \(String(format: "%.2f", lists.variation))")
            }
            if let build = health.info.buildMilliseconds { print("build:      \(build) ms") }
            if let recall = health.recall {
                print("recall@\(recall.k):  \(String(format: "%.4f", recall.recall)) over \(recall.queries) stored vectors at nprobe \(recall.nprobe), against exact search of this segment")
            }
        }
    }

    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Seal the growing segment now, so that it is indexed without waiting to fill up.")

        @Argument(help: "Collection name.") var name: String
        @Flag(help: "Return once the sealed segment is indexed.") var wait = false
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let (segments, pending) = try await client.run { try await $0.segments(name, .seal, wait: wait) }
            SegmentsFormat.emit(segments, pending: pending, client: client)
        }
    }

    struct Compact: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compact now: rewrite every indexed segment with deleted rows, merge small ones.")

        @Argument(help: "Collection name.") var name: String
        @Flag(help: "Return once the compaction is done.") var wait = false
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let (segments, pending) = try await client.run { try await $0.segments(name, .compact, wait: wait) }
            SegmentsFormat.emit(segments, pending: pending, client: client)
        }
    }

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rewrite one indexed segment from storage with the current quantizer; it gets a new id.")

        @Argument(help: "Collection name.") var name: String
        @Argument(help: "Segment id.") var segment: UInt32
        @Flag(help: "Return once the rebuild is done.") var wait = false
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let (segments, pending) = try await client.run { try await $0.segments(name, .rebuild(SegmentID(segment)), wait: wait) }
            SegmentsFormat.emit(segments, pending: pending, client: client)
        }
    }
}

/// Segment lines, as a table or JSON.
enum SegmentsFormat {
    static func pairs(_ info: SegmentInfo) -> [(String, JSONValue)] {
        [
            ("id", .uint(UInt64(info.id.rawValue))), ("state", .string(info.phase.rawValue)), ("rows", .int(Int64(info.rows))),
            ("deleted_rows", .int(Int64(info.deletedRows))), ("codes", info.codes.map { .string($0.description) } ?? .null),
            ("nlist", info.nlist.map { .int(Int64($0)) } ?? .null), ("memory_bytes", .int(Int64(info.memoryBytes))),
            ("disk_bytes", info.diskBytes.map { .int(Int64($0)) } ?? .null), ("created_at_ms", .int(info.createdAtMilliseconds)),
            ("indexed_at_ms", info.indexedAtMilliseconds.map { .int($0) } ?? .null),
            ("build_ms", info.buildMilliseconds.map { .int($0) } ?? .null),
        ]
    }

    static func emit(_ segments: [SegmentInfo], pending: Bool, client: ClientOptions) {
        if client.json {
            for segment in segments { client.print(.object(pairs(segment))) }
            return
        }
        let formatter = ISO8601DateFormatter()
        func time(_ milliseconds: Int64?) -> String {
            milliseconds.map { formatter.string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? "-"
        }
        func bytes(_ count: Int?) -> String { count.map { ByteCountFormatter.string(fromByteCount: Int64($0), countStyle: .memory) } ?? "-" }
        let rows = segments.map { s in
            [
                "  " + String(s.id.rawValue), s.phase.rawValue, String(s.rows), String(s.deletedRows), s.codes?.description ?? "-",
                s.nlist.map(String.init) ?? "-", bytes(s.memoryBytes), bytes(s.diskBytes), time(s.createdAtMilliseconds),
                time(s.indexedAtMilliseconds),
            ]
        }
        print(
            Table.render(
                header: ["  ID", "STATE", "ROWS", "DELETED", "CODES", "NLIST", "MEMORY", "DISK", "CREATED", "INDEXED"], rows: rows))
        if pending { print("(background work pending)") }
    }
}

/// `quiver stats`: per collection rows, segments by state, memory and disk; the server's counters.
struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Per collection: rows, segments by state, memory, disk; and the server's counters.")

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let stats = try await client.run { try await $0.stats() }
        let phases = SegmentPhase.allCases.map(\.rawValue)
        if client.json {
            client.print(
                .object([
                    (
                        "collections",
                        .array(
                            stats.collections.map { c in
                                .object([
                                    ("name", .string(c.name)), ("rows", .int(Int64(c.rows))),
                                    ("segments", .object(phases.map { ($0, .int(Int64(c.segments[$0] ?? 0))) })),
                                    ("memory_bytes", .int(Int64(c.memoryBytes))), ("disk_bytes", .int(Int64(c.diskBytes))),
                                ])
                            })
                    ),
                    ("rocksdb_disk_bytes", .int(Int64(stats.diskBytes))), ("uptime_seconds", .int(Int64(stats.uptimeSeconds))),
                    ("sync_policy", .string(stats.syncPolicy)), ("commit_groups", .int(Int64(stats.commitGroups))),
                    ("wal_syncs", .int(Int64(stats.walSyncs))), ("seals", .int(Int64(stats.seals))),
                    ("index_builds", .int(Int64(stats.indexBuilds))), ("template_trainings", .int(Int64(stats.templateTrainings))),
                    ("compactions", .int(Int64(stats.compactions))), ("maintenance_failures", .int(Int64(stats.maintenanceFailures))),
                ]))
            return
        }
        func bytes(_ count: Int) -> String { ByteCountFormatter.string(fromByteCount: Int64(count), countStyle: .memory) }
        print(
            Table.render(
                header: ["NAME", "ROWS", "SEGMENTS", "MEMORY", "INDEX FILES"],
                rows: stats.collections.map { c in
                    [
                        c.name, String(c.rows), phases.compactMap { p in c.segments[p].map { "\($0) \(p)" } }.joined(separator: ", "),
                        bytes(c.memoryBytes), bytes(c.diskBytes),
                    ]
                }))
        print(
            "storage \(bytes(stats.diskBytes)) (RocksDB), up \(stats.uptimeSeconds) s, sync \(stats.syncPolicy); \(stats.commitGroups) commit groups, "
                + "\(stats.seals) seals, \(stats.indexBuilds) builds, \(stats.templateTrainings) trainings, \(stats.compactions) compactions, \(stats.maintenanceFailures) failures")
    }
}
