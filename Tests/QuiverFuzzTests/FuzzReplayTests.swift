import Foundation
import QuiverTesting
import Testing

/// Every committed fuzz input — the seeds, and each finding once fixed — replayed through its
/// target by `quiver-fuzz` built without the fuzzer (scripts/fuzz.sh builds the fuzzing one). A
/// target answers each input with a value or a typed error and checks its answer (a second
/// evaluator, a round trip); a crash or failed check ends the process with a signal.
@Suite struct FuzzReplayTests {
    static let corpora = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    @Test(arguments: ["filter", "request", "segment-file", "keys"])
    func everyCommittedInputIsHandled(target: String) async throws {
        let directory = Self.corpora.appendingPathComponent(target).path
        let count = try FileManager.default.contentsOfDirectory(atPath: directory).count
        #expect(count >= 4, "\(directory) has \(count) inputs")
        let replay = try ChildProcess("quiver-fuzz", arguments: [target, directory])
        let exit = try await replay.waitForExit(timeout: .seconds(120))
        #expect(exit.status == 0 && !exit.signaled, "\(replay.stdout)\n\(replay.stderr)")
        #expect(replay.stdout.contains("replayed \(count) inputs through \(target)"), "\(replay.stdout)")
    }
}
