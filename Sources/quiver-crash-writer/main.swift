// Child process of the kill -9 crash tests (Tests/QuiverEngineTests/CrashTests.swift).
//
//   quiver-crash-writer --data-dir DIR --seed N --start A,B --sync always|batch|none
//
// Opens the database, creates the crash collection if needed, then runs one writer task per
// entry of --start, writer w starting at batch number start[w] of `CrashWorkload`. After each
// acknowledged batch it prints "ack <writer> <batch>" with a single write(2), so that a line is
// either wholly in the pipe or absent when the parent kills the process. Runs until killed.

import Foundation
import Logging
import QuiverCore
import QuiverEngine
import QuiverTesting

func argument(_ name: String) -> String {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else {
        FileHandle.standardError.write(Data("missing \(name)\n".utf8))
        exit(2)
    }
    return args[i + 1]
}

let dataDir = argument("--data-dir")
let workload = CrashWorkload(seed: UInt64(argument("--seed"))!)
let starts = argument("--start").split(separator: ",").map { Int($0)! }
guard let sync = SyncPolicy(parsing: argument("--sync")) else { exit(2) }

var logger = Logger(label: "crash-writer")
logger.logLevel = .warning
let database = try await Database.open(path: dataDir, options: DatabaseOptions(syncPolicy: sync, logger: logger))
if (try? database.describeCollection(CrashWorkload.collection)) == nil {
    _ = try await database.createCollection(CrashWorkload.schema)
}
FileHandle.standardOutput.write(Data("ready\n".utf8))

await withTaskGroup(of: Void.self) { group in
    for (writer, start) in starts.enumerated() {
        group.addTask {
            var number = start
            while true {
                do {
                    switch workload.batch(writer: writer, number: number) {
                    case .upsert(let records): _ = try await database.upsert(CrashWorkload.collection, records)
                    case .delete(let ids): _ = try await database.delete(CrashWorkload.collection, ids: ids)
                    }
                } catch {
                    FileHandle.standardError.write(Data("writer \(writer) batch \(number): \(error)\n".utf8))
                    exit(1)
                }
                FileHandle.standardOutput.write(Data("ack \(writer) \(number)\n".utf8))
                number += 1
            }
        }
    }
}
