import Foundation
import Testing

/// Keeps `quiver bench engine` from rotting: a run with tiny sizes must finish and print every
/// section with its figures. (The real figures come from release builds; see docs/benchmarks.md.)
@Suite struct BenchSmokeTests {
    @Test func benchEngineQuickRunPrintsEverySection() throws {
        let quiver = URL(fileURLWithPath: Bundle.main.bundlePath).appendingPathComponent("quiver")
        let process = Process()
        process.executableURL = quiver
        process.arguments = ["bench", "engine", "--quick"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        for policy in ["always", "batch", "none"] { #expect(text.contains("sync=\(policy)")) }
        #expect(text.contains("top-10 agreement with FAISS 1.0000"))
        #expect(text.contains("ratio Quiver / best FAISS"))
        #expect(text.contains("reopen: 10000 × 128"))
    }
}
