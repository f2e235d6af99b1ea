import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process for tests: started with arguments, its stdout and stderr collected on threads
/// of their own (so the child never blocks on a full pipe and the test never blocks Swift's
/// cooperative pool), with helpers to wait for a line, signal it and wait for it to exit.
public final class ChildProcess: Sendable {
    private final class Collector: Sendable {
        private let buffer = Mutex(Data())
        private let done = Mutex(false)

        init(_ handle: FileHandle) {
            let thread = Thread { [self] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    buffer.withLock { $0.append(chunk) }
                }
                done.withLock { $0 = true }
            }
            thread.start()
        }

        var text: String { buffer.withLock { String(decoding: $0, as: UTF8.self) } }
        var finished: Bool { done.withLock { $0 } }
    }

    private let process: Process
    private let stdoutCollector: Collector
    private let stderrCollector: Collector
    public let executable: URL

    /// The directory that holds the test bundle and the package's executables.
    public static var productsDirectory: URL { URL(fileURLWithPath: Bundle.main.bundlePath) }

    /// Starts `name` from the products directory.
    public convenience init(_ name: String, arguments: [String], environment: [String: String]? = nil) throws {
        let executable = Self.productsDirectory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw ChildProcessError("\(executable.path) is missing: build all products first (swift build --build-tests)")
        }
        try self.init(path: executable.path, arguments: arguments, environment: environment)
    }

    /// Starts the program at `path` (a tool of the system's, such as `/usr/bin/env`).
    public init(path: String, arguments: [String], environment: [String: String]? = nil) throws {
        executable = URL(fileURLWithPath: path)
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        stdoutCollector = Collector(out.fileHandleForReading)
        stderrCollector = Collector(err.fileHandleForReading)
    }

    public var pid: Int32 { process.processIdentifier }
    public var stdout: String { stdoutCollector.text }
    public var stderr: String { stderrCollector.text }
    public var isRunning: Bool { process.isRunning }

    /// Waits until stdout has a line starting with `prefix` and returns the rest of that line.
    public func waitForLine(startingWith prefix: String, timeout: Duration = .seconds(60)) async throws -> String {
        try await waitForLine(in: .stdout, timeout: timeout, "'\(prefix)'") { $0.hasPrefix(prefix) }.dropFirst(prefix.count).description
    }

    public enum Stream: Sendable { case stdout, stderr }

    /// Waits until `stream` has a line for which `matches` holds and returns it; fails when the
    /// process exits first or `timeout` passes.
    public func waitForLine(
        in stream: Stream, timeout: Duration = .seconds(60), _ what: String, where matches: (Substring) -> Bool
    ) async throws -> Substring {
        var found: Substring?
        do {
            try await waitUntil("\(executable.lastPathComponent) to print \(what)", timeout: timeout, interval: .milliseconds(5)) {
                found = (stream == .stdout ? stdout : stderr).split(separator: "\n").first(where: matches)
                return found != nil || (!process.isRunning && stdoutCollector.finished && stderrCollector.finished)
            }
        } catch let error as WaitTimedOut {
            throw ChildProcessError("\(error): \(stderr)")
        }
        guard let found else {
            throw ChildProcessError("\(executable.lastPathComponent) exited before printing \(what): \(stderr)")
        }
        return found
    }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit and for its output to be collected; returns the exit status
    /// (or the signal number for a killed process, with `signaled` true).
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> (status: Int32, signaled: Bool) {
        try await waitUntil("\(executable.lastPathComponent) to exit", timeout: timeout) {
            !process.isRunning && stdoutCollector.finished && stderrCollector.finished
        }
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal)
    }

    /// SIGKILLs the process if it still runs (for cleanup in `defer`).
    public func killIfRunning() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit { killIfRunning() }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
