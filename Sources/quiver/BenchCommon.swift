import ArgumentParser
import Foundation
import Logging

/// Options and set-up every benchmark shares.
struct BenchCommon: ParsableArguments {
    @Option(help: "Directory for the benchmark databases (removed afterwards).")
    var dir: String = NSTemporaryDirectory()

    @Option(help: "Vector dimension.")
    var dimension = 128

    @Option(help: "Seed of the synthetic clustered dataset.")
    var seed: UInt64 = 42

    @Flag(help: "Tiny sizes, for a smoke test of the benchmark itself.")
    var quick = false

    /// A fresh directory under `dir`; the caller removes it.
    func workDirectory(_ name: String) -> String { dir + "/quiver-bench-\(name)-\(UUID().uuidString)" }

    /// Runs this `quiver` binary as a separate process (restart and import measurements), and
    /// returns its standard output; a non-zero exit is an error.
    static func runQuiver(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIError("quiver \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)") }
        return text
    }

    /// Benchmarks print their own figures; the engine's and server's logs would only interleave.
    static var quietLogger: Logger {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        return logger
    }
}
