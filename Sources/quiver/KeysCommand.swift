import ArgumentParser
import Foundation
import QuiverAuth
import QuiverClient
import QuiverCore

/// `quiver keys`: API keys for the keys file of `quiver serve --api-keys`.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make API keys for the keys file of 'quiver serve --api-keys', and have a running server reload it.",
        subcommands: [Generate.self, Reload.self])

    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a running server read its keys file and TLS files again (admin role, a key with no collections= scope).",
            discussion: """
                The same as sending the server SIGHUP, from wherever the CLI can reach it: new \
                calls and connections use the new keys and certificate; calls in flight and open \
                connections go on. When a file fails to load the server keeps what it had, and \
                this command exits 1 saying which file and why. The audit log is reopened too.
                """)

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let outcome = try await client.run { try await $0.reloadCredentials() }
            if client.json {
                client.print(.object([("reloaded", .string(outcome.summary)), ("keys", .int(Int64(outcome.keys))), ("tls", .bool(outcome.tls))]))
            } else {
                print("reloaded \(outcome.summary)")
            }
        }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new random key once, and the keys-file line for it, which holds its SHA-256 instead of the key.",
            discussion: """
                Give the key to the service that will use it and add the line to the keys file; \
                the server never needs the key itself, so the file holds no secret. The key is \
                not stored anywhere: a lost key is replaced by generating another. Send SIGHUP to \
                a running server to load the new file (docs/security.md).
                """)

        @Option(help: ArgumentHelp("read, write or admin.", valueName: "role"))
        var role: String

        @Option(help: ArgumentHelp("Names the key in logs and the audit log (letters, digits, '.', '_', '-').", valueName: "name"))
        var label: String?

        @Flag(help: "Machine-readable output: {\"key\": …, \"line\": …}.")
        var json = false

        func validate() throws {
            guard ["read", "write", "admin"].contains(role) else { throw ValidationError("--role must be read, write or admin, not '\(role)'") }
            if let label {
                guard !label.isEmpty, label.count <= 64,
                    label.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) })
                else { throw ValidationError("--label takes 1–64 letters, digits, '.', '_' or '-'") }
            }
        }

        func run() throws {
            let key = APIKeys.generateKey()
            let line = ([APIKeys.hashedForm(of: key), role] + (label.map { [$0] } ?? [])).joined(separator: " ")
            if json {
                print(JSONValue.object([("key", .string(key)), ("line", .string(line))]).rendered)
            } else {
                print("key (shown once; give it to the client): \(key)")
                print("line for the keys file:                  \(line)")
            }
        }
    }
}
