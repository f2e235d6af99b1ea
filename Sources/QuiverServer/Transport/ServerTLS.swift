// TLS on the gRPC port: swift-nio-ssl (BoringSSL) in front of NIOHTTP2, nothing hand-written.
//
// - TLS 1.2 and 1.3, ALPN `h2` (gRPC clients such as grpcio refuse a server that does not select
//   it), the certificate chain and key from PEM files.
// - With a client CA, every client must present a certificate that CA signed (mTLS): BoringSSL
//   refuses the handshake otherwise.
// - A client that speaks plaintext HTTP/2 to the TLS port is told so: its first byte is not a TLS
//   record (0x16) but the `PRI * HTTP/2.0` preface, and instead of a dropped connection (which a
//   gRPC client reports as a bare UNAVAILABLE) every call it makes is answered UNAVAILABLE with
//   "this server requires TLS". Nothing of the database is reachable that way.
import NIOCore
import NIOSSL
import QuiverCore
import X509

/// The files of `quiver serve --tls-cert FILE --tls-key FILE [--tls-client-ca FILE]`.
public struct TLSFiles: Sendable, Equatable {
    /// PEM: the server's certificate first, then any intermediates.
    public var certificateChain: String
    /// PEM private key of the first certificate.
    public var privateKey: String
    /// PEM certificates of the CAs whose client certificates are accepted; set, every client
    /// must present one (mTLS).
    public var clientCA: String?

    public init(certificateChain: String, privateKey: String, clientCA: String? = nil) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.clientCA = clientCA
    }
}

/// The TLS context of the server, made from `TLSFiles`; loading fails with the file and the reason.
final class ServerTLS: Sendable {
    /// For the gRPC port: ALPN `h2`.
    let context: NIOSSLContext
    /// The same certificate and client CA for HTTP/1.1 (the metrics endpoint): ALPN `http/1.1`.
    let httpContext: NIOSSLContext
    let requiresClientCertificates: Bool

    init(_ files: TLSFiles) throws(QuiverError) {
        func load<T>(_ what: String, _ path: String, _ body: () throws -> T) throws(QuiverError) -> T {
            do {
                return try body()
            } catch {
                throw QuiverError(.invalidArgument, .malformedRequest, "cannot load the \(what) \(path): \(error)", value: path)
            }
        }
        let chain = try load("TLS certificate chain", files.certificateChain) { try NIOSSLCertificate.fromPEMFile(files.certificateChain) }
        guard !chain.isEmpty else {
            throw QuiverError(
                .invalidArgument, .malformedRequest, "the TLS certificate file \(files.certificateChain) holds no PEM certificate",
                value: files.certificateChain)
        }
        let key = try load("TLS private key", files.privateKey) { try NIOSSLPrivateKey(file: files.privateKey, format: .pem) }
        var configuration: TLSConfiguration
        if let clientCA = files.clientCA {
            let authorities = try load("TLS client CA", clientCA) { try NIOSSLCertificate.fromPEMFile(clientCA) }
            guard !authorities.isEmpty else {
                throw QuiverError(.invalidArgument, .malformedRequest, "the TLS client CA file \(clientCA) holds no PEM certificate", value: clientCA)
            }
            configuration = .makeServerConfigurationWithMTLS(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key), trustRoots: .certificates(authorities))
            configuration.sendCANameList = true
        } else {
            configuration = .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        }
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["h2"]
        context = try load("TLS configuration from", files.certificateChain) { try NIOSSLContext(configuration: configuration) }
        configuration.applicationProtocols = ["http/1.1"]
        httpContext = try load("TLS configuration from", files.certificateChain) { try NIOSSLContext(configuration: configuration) }
        requiresClientCertificates = files.clientCA != nil
    }
}

/// Reads a connection's first byte and sets up the rest of its pipeline for what the client
/// speaks: TLS (a handshake record) or plaintext HTTP/2, which a TLS server answers with errors.
final class TLSDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let configure: (ChannelHandlerContext, _ isTLS: Bool) throws -> Void
    private let timeout: TimeAmount
    private var decided = false
    private var deadline: Scheduled<Void>?

    /// - Parameters:
    ///   - timeout: a connection that sends nothing for this long is closed.
    ///   - configure: adds the handlers after this one, on the event loop.
    init(timeout: TimeAmount, configure: @escaping (ChannelHandlerContext, _ isTLS: Bool) throws -> Void) {
        self.timeout = timeout
        self.configure = configure
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else { return context.fireChannelRead(data) }
        let bytes = unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        decided = true
        deadline?.cancel()
        do {
            // 0x16: a TLS handshake record (RFC 8446 §5.1).
            try configure(context, first == 0x16)
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// The names a verified client certificate goes by, for `subject:NAME` lines of the keys file:
/// its subject's common names, then its DNS subject alternative names. Parsed with
/// swift-certificates.
enum CertificateNames {
    static func of(_ certificate: NIOSSLCertificate) -> [String] {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return [] }
        var names: [String] = []
        for rdn in parsed.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName { names.append(attribute.value.description) }
        }
        if let alternatives = try? parsed.extensions.subjectAlternativeNames {
            for name in alternatives {
                if case .dnsName(let dns) = name { names.append(dns) }
            }
        }
        return names
    }
}
