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

    /// The `quiver` binary beside this one (the build puts every product of the package in one
    /// directory).
    static var quiverExecutable: URL {
        executable.deletingLastPathComponent().appendingPathComponent("quiver")
    }

    /// This `quiver-bench` binary, wherever it was started from.
    static var executable: URL {
        Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    }

    /// Runs `quiver` as a separate process (import, server) and returns its standard output; a
    /// non-zero exit is an error.
    static func runQuiver(_ arguments: [String]) throws -> String { try run(quiverExecutable, arguments) }

    /// Runs this benchmark binary as a separate process (`open`, for restart figures measured in a
    /// fresh process) and returns its standard output.
    static func runBench(_ arguments: [String]) throws -> String { try run(executable, arguments) }

    private static func run(_ executable: URL, _ arguments: [String]) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw BenchError("\(executable.path) is missing: build every product (swift build -c release)")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("\(executable.lastPathComponent) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        return text
    }

    /// Benchmarks print their own figures; the engine's and server's logs would only interleave.
    static var quietLogger: Logger {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        return logger
    }
}

/// A benchmark that cannot go on (a child process failed, its output was not what was expected).
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
