import ArgumentParser
import Logging
import QuiverClient
import QuiverCore
import QuiverEngine
import QuiverIndex

/// `--data-dir DIR` of the verbs that also work on a stopped database, in this process and
/// without a server (`collection create`, `list`, `describe`, `drop`; `import` has its own bulk
/// mode). The database is opened, used and closed again; a server (or anything) that holds it
/// makes the verb fail with `databaseLocked`, naming the holder's pid.
struct OfflineOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Work on this stopped database in this process instead of through a server.", valueName: "dir"))
    var dataDir: String?

    /// The engine's own log lines would only interleave with the verb's output.
    static var quietLogger: Logger {
        var logger = Logger(label: "quiver")
        logger.logLevel = .warning
        return logger
    }

    /// Opens the database at `dataDir` with `options`, runs `body`, closes it (also when `body`
    /// throws), and reports a `QuiverError` as the client verbs do: `error: …` on standard error
    /// (JSON with --json) and exit status 1.
    static func run<T: Sendable>(
        _ path: String, options: DatabaseOptions, report: ClientOptions, _ body: (Database) async throws -> T
    ) async throws -> T {
        // As in `quiver serve`: FAISS and OpenBLAS one thread each (their idle OpenMP threads
        // spin and would take the writers' core).
        ComputeThreads.configure(openMP: 1, blas: 1)
        let database: Database
        do {
            database = try await Database.open(path: path, options: options)
        } catch {
            report.report(error)
            throw ExitCode(1)
        }
        do {
            let result = try await body(database)
            try await database.close()
            return result
        } catch let error as QuiverError {
            try? await database.close()
            report.report(error)
            throw ExitCode(1)
        } catch {
            try? await database.close()
            throw error
        }
    }

    /// Runs `body` on the stopped database when `--data-dir` was given (no background work: the
    /// verb is over before any would matter), else through the server.
    func run<T: Sendable>(
        _ client: ClientOptions, offline: (Database) async throws -> T, online: (QuiverClient) async throws -> T
    ) async throws -> T {
        guard let dataDir else { return try await client.run(online) }
        var options = DatabaseOptions(backgroundWork: false, logger: Self.quietLogger)
        options.deferIndexing = true
        return try await Self.run(dataDir, options: options, report: client, offline)
    }
}
