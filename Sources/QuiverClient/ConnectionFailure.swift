import Foundation
import GRPCCore
import NIOCore
import NIOPosix
import NIOSSL
import QuiverCore
import QuiverWire

/// Why a connection could not be made, in words a user can act on. grpc-swift reports every failed
/// connection as UNAVAILABLE "Could not establish a connection", with the TLS reason deep in its
/// causes, and BoringSSL's own reason for a refused certificate is one code for all
/// (CERTIFICATE_VERIFY_FAILED). So for that one the client looks again: it fetches the server's
/// certificate without verifying it and says whether it has expired, is not valid yet, or was
/// signed by a CA the client does not trust. Nothing of that second connection is trusted or sent
/// on; the verdict itself stays BoringSSL's.
enum ConnectionFailure {
    static func describe(_ error: RPCError, options: QuiverClient.Options) async -> QuiverError? {
        var causes: [any Error] = []
        var next: (any Error)? = error.cause
        while let cause = next, causes.count < 16 {
            causes.append(cause)
            switch cause {
            case let cause as RPCError: next = cause.cause
            case let cause as RuntimeError: next = cause.cause
            default: next = nil
            }
        }
        let server = options.server
        func failure(_ message: String) -> QuiverError { QuiverError(.unavailable, .serverUnavailable, message, value: server.description) }
        for cause in causes {
            if let extra = cause as? NIOSSLExtraError, extra == .failedToValidateHostname {
                return failure(
                    "the server's TLS certificate is not for \(server.host): connect by a name or address its certificate lists (\(extra))")
            }
            if case NIOSSLError.handshakeFailed(let reason) = cause {
                let text = "\(reason)"
                if text.contains("CERTIFICATE_VERIFY_FAILED") {
                    return failure("the server's TLS certificate was refused: \(await certificateProblem(options))")
                }
                if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") || text.contains("HTTP_REQUEST") {
                    return failure("the server at \(server) does not speak TLS: it serves plaintext (connect without --tls)")
                }
                if text.contains("CERTIFICATE_REQUIRED") {
                    return failure("the server requires a client certificate (mTLS): connect with --tls-cert and --tls-key")
                }
                return failure("the TLS handshake with \(server) failed: \(text)")
            }
            // Under TLS 1.3 the server checks a client's certificate after the client's side of
            // the handshake is done: its refusal arrives as an alert on the first read.
            if let alert = cause as? BoringSSLError {
                let text = "\(alert)"
                if text.contains("ALERT_CERTIFICATE_REQUIRED") {
                    return failure("the server requires a client certificate (mTLS): connect with --tls-cert and --tls-key")
                }
                if text.contains("ALERT_UNKNOWN_CA") || text.contains("ALERT_BAD_CERTIFICATE") || text.contains("ALERT_CERTIFICATE_EXPIRED") {
                    return failure(
                        "the server refused this client's certificate: it is not signed by a CA the server trusts (--tls-client-ca), or has expired")
                }
            }
            if case NIOSSLError.uncleanShutdown = cause, options.tls != nil {
                return failure(
                    "the server at \(server) closed the connection during the TLS handshake: it may serve plaintext (connect without --tls) or refuse this client's certificate"
                )
            }
        }
        return nil
    }

    /// What is wrong with the certificate the server presents, looked at without verifying it.
    private static func certificateProblem(_ options: QuiverClient.Options) async -> String {
        let trust = options.tls?.caFile.map { "the CA in \($0)" } ?? "the system's CAs"
        guard let certificate = try? await peerCertificate(options.server) else {
            return "it is not signed by \(trust), or has expired"
        }
        let now = time(nil)
        if certificate.notValidAfter < now {
            return "it expired on \(Date(timeIntervalSince1970: TimeInterval(certificate.notValidAfter)))"
        }
        if certificate.notValidBefore > now {
            return "it is not valid before \(Date(timeIntervalSince1970: TimeInterval(certificate.notValidBefore)))"
        }
        return "it is not signed by \(trust) (give the CA that signed it with --tls-ca)"
    }

    private static func peerCertificate(_ server: ServerAddress) async throws -> NIOSSLCertificate? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        configuration.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: configuration)
        let host = server.host == "localhost" ? "127.0.0.1" : server.host
        let name = server.isIPv4 || server.isIPv6 || server.host == "localhost" ? nil : server.host
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: name))
                }
            }
            .connect(host: host, port: server.port).get()
        defer { channel.close(promise: nil) }
        let handler = try await channel.pipeline.handler(type: NIOSSLClientHandler.self).get()
        // The handshake ends before the peer's certificate is known; give it a moment.
        for _ in 0..<100 {
            if let certificate = try await channel.eventLoop.submit({ handler.peerCertificate }).get() { return certificate }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}
