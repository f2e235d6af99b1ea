import ArgumentParser
import QuiverClient

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the server answers and is serving (exit 0), or not (exit 1). Needs no key.")

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let serving = try await client.run { try await $0.health() }
        if client.json {
            client.print(.object([("serving", .bool(serving))]))
        } else {
            print(serving ? "serving" : "not serving (shutting down)")
        }
        if !serving { throw ExitCode(1) }
    }
}
