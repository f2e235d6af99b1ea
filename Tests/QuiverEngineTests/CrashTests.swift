import Foundation
import QuiverCore
@testable import QuiverEngine
import QuiverTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// kill -9 crash test. A child process (`quiver-crash-writer`) runs two concurrent writers and
/// prints every acknowledged batch; the test kills it with SIGKILL at a random moment, reopens the
/// database in this process and checks, per writer, that the stored records equal the model after
/// exactly the acknowledged batches or after one more (the batch in flight may or may not have
/// committed) — so every acknowledged write is intact and no batch is half-applied.
@Suite(.serialized) struct CrashTests {
    static let rounds = 24

    @Test func acknowledgedWritesSurviveKill9() async throws {
        let seed = ProcessInfo.processInfo.environment["QUIVER_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...1_000_000)
        print("crash test seed \(seed) (replay: QUIVER_TEST_SEED=\(seed))")
        var rng = SeededRandom(seed: seed)
        let workload = CrashWorkload(seed: seed)
        let dir = TemporaryDirectory()

        // Per writer: how many batches are known applied, and the model state after them.
        var applied = [0, 0]
        var models: [[RecordID: Record]] = [[:], [:]]
        var roundsWithAcks = 0
        var totalAcks = 0

        for round in 0..<Self.rounds {
            let policy = ["always", "batch", "none"][round % 3]
            let child = try ChildProcess(
                "quiver-crash-writer",
                arguments: [
                    "--data-dir", dir.path, "--seed", String(seed), "--start", applied.map(String.init).joined(separator: ","),
                    "--sync", policy,
                ])

            // Kill at a random moment: usually while writing, sometimes during start-up and recovery.
            let delay = round % 6 == 5 ? Int.random(in: 0...30, using: &rng) : Int.random(in: 40...350, using: &rng)
            if round % 6 != 5 { _ = try await child.waitForLine(startingWith: "ready", timeout: .seconds(120)) }
            try await Task.sleep(for: .milliseconds(delay))
            child.signal(SIGKILL)
            let exit = try await child.waitForExit()
            #expect(exit.signaled, "round \(round): child exited by itself: \(child.stderr)")

            var lastAck = applied.map { $0 - 1 }
            for line in child.stdout.split(separator: "\n") where line.hasPrefix("ack ") {
                let parts = line.split(separator: " ")
                let (w, n) = (Int(parts[1])!, Int(parts[2])!)
                #expect(n == lastAck[w] + 1, "round \(round): writer \(w) acknowledged batch \(n) out of order")
                lastAck[w] = n
                totalAcks += 1
            }
            if lastAck != applied.map({ $0 - 1 }) { roundsWithAcks += 1 }

            // Reopen in this process and compare with the models.
            try await withDatabase(dir) { db async throws in
                for w in 0..<2 {
                    var model = models[w]
                    var count = applied[w]
                    while count < lastAck[w] + 1 {
                        Self.apply(workload.batch(writer: w, number: count), to: &model)
                        count += 1
                    }
                    let stored = try await Self.storedRecords(db, workload.ids(writer: w))
                    if stored == model {
                        applied[w] = count
                        models[w] = model
                        continue
                    }
                    // The batch in flight when the child died may have committed.
                    Self.apply(workload.batch(writer: w, number: count), to: &model)
                    #expect(
                        stored == model,
                        "seed \(seed) round \(round) writer \(w): state matches neither \(count) nor \(count + 1) batches")
                    applied[w] = count + 1
                    models[w] = model
                }
            }
        }
        print("crash test: \(Self.rounds) rounds, \(roundsWithAcks) with acknowledgements, \(totalAcks) batches acknowledged, applied \(applied)")
        #expect(roundsWithAcks >= Self.rounds / 2, "the child rarely got to write: the test proved little")
    }

    static func apply(_ batch: CrashWorkload.Batch, to model: inout [RecordID: Record]) {
        switch batch {
        case .upsert(let records): for r in records { model[r.id] = r }
        case .delete(let ids): for id in ids { model[id] = nil }
        }
    }

    /// The writer's records as stored, in the workload's `Record` form (vectors bit for bit).
    static func storedRecords(_ db: Database, _ ids: [RecordID]) async throws -> [RecordID: Record] {
        guard (try? db.describeCollection(CrashWorkload.collection)) != nil else { return [:] }
        var result: [RecordID: Record] = [:]
        for case let record? in try await db.get(CrashWorkload.collection, ids: ids) {
            result[record.id] = Record(id: record.id, vector: record.vector!, fields: record.fields.filter { $0.value != .null })
        }
        return result
    }
}
