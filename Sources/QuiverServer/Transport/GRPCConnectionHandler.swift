// The gRPC calls of one HTTP/2 connection, served by one channel handler on the connection's
// event loop.
//
// Why not grpc-swift-2's server: it spent 450 µs of server CPU on an empty `Health` call (a
// Python grpcio client, four client processes; docs/benchmarks.md, "The cost of a call"), against
// about 80 µs for the same call served by this handler. Its per-call path builds an HTTP/2 child
// channel, a task, async sequences for the request and response parts and an interceptor chain,
// and resolves generic metadata at run time at every step. HTTP/2 itself stays NIOHTTP2's
// (framing, HPACK, the connection and stream state machines, flow-control accounting, the limit
// on concurrent streams); what is ours is only the dispatch of a stream's frames to a method.
//
// Design:
// - NIOHTTP2Handler without a stream multiplexer: every frame reaches this handler with its
//   stream id, and a call is a `Call` in a dictionary, not a child channel (a child channel per
//   stream cost about 25 µs a call: 105 against 80 µs measured on the same prototype).
// - Calls that only read a flag (Health, Version) are answered here, on the event loop; every
//   other call runs in a task of its own, which writes its answer back through the event loop. A
//   slow call holds its own task only: other calls on this connection and others go on.
// - Without a multiplexer NIOHTTP2 does not return flow-control window, so this handler does:
//   the connection's when NIOHTTP2 reports it half used (16 MiB; its count includes the DATA
//   it drops, such as what a client had in flight on a stream answered and reset before its
//   request ended: counting only the DATA this handler sees leaked that much per refused call,
//   and four refused 8 MiB requests wedged their connection), a stream's when its messages are
//   taken (4 MiB, returned at a quarter); a streaming call whose client sends
//   faster than it is answered stops receiving once two messages wait, and one whose client does
//   not read its answers stops taking requests once 4 MiB of answers wait to be sent.
// - Responses written while reading are flushed once at the end of the read; responses from
//   tasks are flushed when written.
// - Graceful shutdown: GOAWAY naming the last stream opened, the calls in flight finish (a
//   SearchStream stops after the request it is answering), then the connection closes.
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOSSL
import QuiverAuth
import QuiverCore

final class GRPCConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// SETTINGS_INITIAL_WINDOW_SIZE advertised for every stream.
    static let streamWindow = 4 << 20
    /// The connection's receive window (HTTP/2 starts every connection at 65,535).
    static let connectionWindow = 16 << 20
    /// Unsent answer bytes at which a streaming call stops taking requests, until half are sent.
    static let unsentMax = 4 << 20

    /// One call: a stream from its HEADERS to its close.
    private final class Call {
        let id: HTTP2StreamID
        var method: GRPCMethod?
        var info: CallInfo?
        var reader: GRPCMessageReader
        /// Messages of a unary call, until its request ends.
        var messages: [ByteBuffer] = []
        var stream: RequestStream?
        var task: Task<Void, Never>?
        var deadline: Scheduled<Void>?
        var requestEnded = false
        var headersSent = false
        /// Trailers sent: nothing more is written, anything more received is dropped.
        var finished = false
        /// Stream window not yet returned to the client.
        var unreturned = 0
        /// Bytes of a streaming call's answers written but not yet sent (held by HTTP/2 flow
        /// control for a client that does not read them).
        var unsent = 0

        init(id: HTTP2StreamID, limit: Int) {
            self.id = id
            reader = GRPCMessageReader(limit: limit)
        }
    }

    private let server: GRPCTransport.Shared
    private var calls: [HTTP2StreamID: Call] = [:]
    private var context: ChannelHandlerContext?
    private var reading = false
    private var flushPending = false
    /// The connection's receive window as NIOHTTP2 last reported it.
    private var connectionWindowSeen = 65_535
    /// A WINDOW_UPDATE for the connection was written and NIOHTTP2 has not reported it yet.
    private var connectionUpdatePending = false
    /// When the pending update was written; one that no window report has confirmed within a
    /// second is taken as unseen and written again (`watch`), so that a missed report cannot
    /// leave the connection without receive window.
    private var connectionUpdateWritten = NIODeadline.now()
    private var goingAway = false
    private var lastStreamID = HTTP2StreamID.rootStream
    private var peer = "unknown"

    /// Set: every call of this connection fails with it (a plaintext client of a TLS server).
    private let refusal: QuiverError?
    private let limits: ConnectionLimits
    /// When a frame last arrived; nil until the first (the client's SETTINGS).
    private var lastRead: NIODeadline?
    private var opened = NIODeadline.now()
    /// When the keepalive PING still unanswered was sent.
    private var pingSent: NIODeadline?
    /// When the GOAWAY of an idle connection was sent; it closes a second later.
    private var idleGoAwaySent: NIODeadline?
    private var watchdog: RepeatedTask?

    init(server: GRPCTransport.Shared, limits: ConnectionLimits, refusal: QuiverError? = nil) {
        self.server = server
        self.limits = limits
        self.refusal = refusal
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        watchdog?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private var started = false

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        peer = Self.describe(context.channel.remoteAddress)
        opened = .now()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        watchdog = context.eventLoop.scheduleRepeatedTask(initialDelay: limits.tick, delay: limits.tick) { _ in bound.value.watch() }
        let increment = Self.connectionWindow - 65_535
        connectionUpdatePending = true
        connectionUpdateWritten = .now()
        context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
        context.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        watchdog?.cancel()
        for call in calls.values { abandon(call, QuiverError(.cancelled, .cancelled, "the connection closed")) }
        calls.removeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        lastRead = .now()
        pingSent = nil
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let payload):
            if let call = calls[frame.streamID] {
                // Trailers from a client end its request.
                if payload.endStream { requestEnded(call) }
            } else if frame.streamID > lastStreamID {
                open(frame.streamID, payload, context)
            }
            // Otherwise trailers of a call already answered and gone: nothing to do.
        case .data(let payload):
            let length = payload.data.readableBytes + (payload.paddingBytes.map { $0 + 1 } ?? 0)
            guard let call = calls[frame.streamID], !call.finished else { return }
            call.unreturned += length
            if case .byteBuffer(var bytes) = payload.data, bytes.readableBytes > 0 {
                do throws(QuiverError) {
                    for message in try call.reader.append(&bytes) { deliver(message, to: call) }
                } catch {
                    refuse(call, error)
                    return
                }
            }
            if payload.endStream { requestEnded(call) } else { returnStreamWindow(call) }
        case .rstStream:
            if let call = calls.removeValue(forKey: frame.streamID) {
                abandon(call, QuiverError(.cancelled, .cancelled, "the client cancelled the call"))
                closeIfDone()
            }
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        if flushPending {
            flushPending = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    // Of NIOHTTP2's user events only the connection's window is read. Stream events
    // (StreamClosedEvent and others) are not: a call leaves `calls` when its trailers are written
    // (with a RST_STREAM if the client had not finished sending), when the client resets it, or
    // when NIOHTTP2 reports an error on its stream.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let update = event as? NIOHTTP2WindowUpdatedEvent, update.streamID == .rootStream, let size = update.inboundWindowSize {
            connectionWindowChanged(size)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // NIOHTTP2 has answered a protocol error already (RST_STREAM or GOAWAY); a stream error
        // leaves the connection usable.
        if let error = error as? NIOHTTP2Errors.StreamError {
            if let call = calls.removeValue(forKey: error.streamID) {
                abandon(call, QuiverError(.cancelled, .cancelled, "the call's stream failed: \(error.baseError)"))
            }
            closeIfDone()
            return
        }
        server.logger.debug("connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Calls

    private func open(_ id: HTTP2StreamID, _ payload: HTTP2Frame.FramePayload.Headers, _ context: ChannelHandlerContext) {
        lastStreamID = id
        let call = Call(id: id, limit: server.messageLimit)
        calls[id] = call
        if payload.endStream { call.requestEnded = true }
        let headers = payload.headers
        guard !goingAway else {
            return fail(call, QuiverError(.unavailable, .serverUnavailable, "the server is shutting down"))
        }
        if let refusal { return fail(call, refusal) }
        guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix("application/grpc") else {
            // Not a gRPC request: HTTP's own refusal (PROTOCOL-HTTP2.md asks for 415).
            call.finished = true
            let refusal: HPACKHeaders = [":status": "415", "grpc-status": "13", "grpc-message": "content-type must be application/grpc"]
            write(call, .headers(.init(headers: refusal, endStream: true)))
            resetIfUnfinished(call)
            return
        }
        let path = headers.first(name: ":path") ?? ""
        guard let method = server.methods[path] else {
            return fail(call, QuiverError(.unimplemented, .methodNotSupported, "\(path) is not a method of this server", field: "method"))
        }
        let fullMethod = String(path.dropFirst())
        var caller: APIKeys.Entry?
        if let role = method.role, let keys = server.credentials.keys {
            let header = headers.first(name: "authorization")
            let names = header == nil ? certificateNames(context) : []
            switch CallAuthorization.check(header, keys: keys, required: role, method: fullMethod, certificateNames: names) {
            case .success(let entry):
                caller = entry
            case .failure(let refusal):
                server.logger.notice(
                    "call refused",
                    metadata: ["method": "\(fullMethod)", "peer": "\(peer)", "code": "\(refusal.code.rawValue)", "error": "\(refusal.message)"])
                method.series.record(refusal.code, started: ContinuousClock.now)
                server.audit?.write(AuditEntry(method: fullMethod, peer: peer, key: nil, code: refusal.code.rawValue))
                call.method = method
                return fail(call, refusal)
            }
        }
        let info = CallInfo(series: method.series, fullMethod: fullMethod, peer: peer, caller: caller, role: method.role)
        call.method = method
        call.info = info
        if let timeout = headers.first(name: "grpc-timeout").flatMap(GRPCFraming.timeout) {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            call.deadline = context.eventLoop.scheduleTask(in: timeout) { bound.value.deadlinePassed(id) }
        }
        if case .streaming(let body) = method.body { startStream(call, body, info, context) }
        if call.requestEnded { requestEnded(call) }
    }

    private func deliver(_ message: ByteBuffer, to call: Call) {
        if let stream = call.stream {
            stream.receive(message)
        } else {
            call.messages.append(message)
        }
    }

    private func requestEnded(_ call: Call) {
        call.requestEnded = true
        guard !call.finished, let method = call.method, let info = call.info else { return }
        if call.reader.hasPartialMessage {
            let error = QuiverError(.invalidArgument, .malformedRequest, "the request ended inside a message", field: "message")
            if let stream = call.stream { stream.finish(.failed(error)) } else { fail(call, error) }
            return
        }
        switch method.body {
        case .streaming:
            call.stream?.finish(.end)
        case .immediate(let body):
            guard let message = onlyMessage(call) else { return }
            let result: Result<[UInt8], QuiverError>
            do throws(QuiverError) {
                result = .success(try body(message))
                method.series.countOK()
            } catch {
                method.series.count(error.code)
                result = .failure(error)
            }
            complete(call, result)
        case .unary(let body):
            guard let message = onlyMessage(call), let context else { return }
            let loop = context.eventLoop
            let bound = NIOLoopBound(self, eventLoop: loop)
            let id = call.id
            call.task = Task {
                let result: Result<[UInt8], QuiverError>
                do throws(QuiverError) { result = .success(try await body(message, info)) } catch { result = .failure(error) }
                loop.execute { bound.value.completed(id, result) }
            }
        }
    }

    /// The one request message of a unary call; fails the call when there is not exactly one.
    private func onlyMessage(_ call: Call) -> ByteBuffer? {
        guard call.messages.count == 1 else {
            fail(
                call,
                QuiverError(
                    .invalidArgument, .malformedRequest,
                    "\(call.info?.fullMethod ?? "the method") takes one request message; the call sent \(call.messages.count)",
                    field: "message"))
            return nil
        }
        defer { call.messages.removeAll() }
        return call.messages[0]
    }

    private func startStream(
        _ call: Call, _ body: @escaping @Sendable (RequestStream, CallInfo, @escaping @Sendable ([UInt8]) -> Void) async -> StreamOutcome,
        _ info: CallInfo, _ context: ChannelHandlerContext
    ) {
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let id = call.id
        let stream = RequestStream(onTaken: { loop.execute { bound.value.taken(id) } })
        call.stream = stream
        call.task = Task {
            let outcome = await body(stream, info) { message in loop.execute { bound.value.send(id, message) } }
            loop.execute { bound.value.streamEnded(id, outcome) }
        }
    }

    private func completed(_ id: HTTP2StreamID, _ result: Result<[UInt8], QuiverError>) {
        guard let call = calls[id] else { return }
        complete(call, result)
    }

    /// Writes a unary call's answer.
    private func complete(_ call: Call, _ result: Result<[UInt8], QuiverError>) {
        guard !call.finished else { return }
        switch result {
        case .success(let message):
            sendMessage(call, message)
            finish(call, GRPCFraming.trailers(nil, trailersOnly: false))
        case .failure(let error):
            fail(call, error)
        }
    }

    /// Writes one answer of a streaming call. Its write completes once HTTP/2 flow control let
    /// it out; until then it counts against `unsentMax`, past which the call takes no further
    /// request (and so the client gets no further window): a client that sends requests without
    /// reading the answers is held to a bounded backlog.
    private func send(_ id: HTTP2StreamID, _ message: [UInt8]) {
        guard let call = calls[id], !call.finished, let context else { return }
        let bytes = message.count + 5
        let promise = context.eventLoop.makePromise(of: Void.self)
        sendMessage(call, message, promise: promise)
        call.unsent += bytes
        if call.unsent >= Self.unsentMax { call.stream?.setPaused(true) }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        promise.futureResult.whenComplete { _ in bound.value.sent(id, bytes) }
        flush()
    }

    private func sent(_ id: HTTP2StreamID, _ bytes: Int) {
        guard let call = calls[id] else { return }
        let before = call.unsent
        call.unsent -= bytes
        if before >= Self.unsentMax / 2 && call.unsent < Self.unsentMax / 2 { call.stream?.setPaused(false) }
    }

    private func streamEnded(_ id: HTTP2StreamID, _ outcome: StreamOutcome) {
        guard let call = calls[id], !call.finished else { return }
        if let error = outcome.error {
            finish(call, GRPCFraming.trailers(error, extra: outcome.trailers, trailersOnly: !call.headersSent))
            return
        }
        if let response = outcome.response { sendMessage(call, response) }
        finish(call, GRPCFraming.trailers(nil, extra: outcome.trailers, trailersOnly: !call.headersSent))
    }

    private func taken(_ id: HTTP2StreamID) {
        guard let call = calls[id] else { return }
        returnStreamWindow(call)
    }

    private func deadlinePassed(_ id: HTTP2StreamID) {
        guard let call = calls[id], !call.finished else { return }
        let error = QuiverError(.deadlineExceeded, .deadlineExceeded, "the call's deadline passed")
        if let task = call.task {
            // The answer, whatever it is, is written when the task returns; the client has given up.
            task.cancel()
            call.stream?.finish(.failed(error))
        } else {
            fail(call, error)
        }
    }

    /// A request refused while it was read (too large, compressed): the call ends with the error
    /// at once, and the rest of its request is not read.
    private func refuse(_ call: Call, _ error: QuiverError) {
        call.method?.series.count(error.code)
        if let stream = call.stream {
            stream.finish(.failed(error))
        } else {
            fail(call, error)
        }
    }

    /// The client is gone (reset, closed): the call's task is cancelled, its answer dropped.
    private func abandon(_ call: Call, _ error: QuiverError) {
        call.deadline?.cancel()
        call.task?.cancel()
        call.stream?.finish(.failed(error))
        call.finished = true
    }

    private func fail(_ call: Call, _ error: QuiverError) {
        guard !call.finished else { return }
        call.task?.cancel()
        call.stream?.finish(.failed(error))
        finish(call, GRPCFraming.trailers(error, trailersOnly: !call.headersSent))
    }

    // MARK: Writing

    private func sendMessage(_ call: Call, _ message: [UInt8], promise: EventLoopPromise<Void>? = nil) {
        guard let context else { return }
        if !call.headersSent {
            call.headersSent = true
            write(call, .headers(.init(headers: GRPCFraming.responseHeaders)))
        }
        write(call, .data(.init(data: .byteBuffer(GRPCFraming.frame(message, allocator: context.channel.allocator)))), promise: promise)
    }

    private func finish(_ call: Call, _ trailers: HPACKHeaders) {
        call.finished = true
        call.deadline?.cancel()
        calls[call.id] = nil
        write(call, .headers(.init(headers: trailers, endStream: true)))
        resetIfUnfinished(call)
        flush()
        closeIfDone()
    }

    /// A call answered before its client finished sending: RST_STREAM(NO_ERROR) tells the client
    /// to stop (RFC 9113 §8.1), as gRPC's own servers do.
    private func resetIfUnfinished(_ call: Call) {
        if !call.requestEnded { write(call, .rstStream(.noError)) }
    }

    private func write(_ call: Call, _ payload: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>? = nil) {
        context?.write(wrapOutboundOut(HTTP2Frame(streamID: call.id, payload: payload)), promise: promise)
    }

    private func flush() {
        if reading {
            flushPending = true
        } else {
            context?.flush()
        }
    }

    // MARK: Flow control

    /// Tops the connection's receive window up to `connectionWindow` once half of it is used.
    /// Only a WINDOW_UPDATE of ours makes it grow, so a report larger than the last one means the
    /// update written is counted; until then none more is written.
    private func connectionWindowChanged(_ size: Int) {
        if size > connectionWindowSeen { connectionUpdatePending = false }
        connectionWindowSeen = size
        guard !connectionUpdatePending, size <= Self.connectionWindow / 2, let context else { return }
        connectionUpdatePending = true
        connectionUpdateWritten = .now()
        let increment = Self.connectionWindow - size
        context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
        flush()
    }

    /// Returns a stream's window once a quarter of it is used, unless two of its messages wait
    /// to be taken.
    private func returnStreamWindow(_ call: Call) {
        guard !call.requestEnded, !call.finished, call.unreturned >= Self.streamWindow / 4 else { return }
        if let stream = call.stream, stream.queued >= 2 { return }
        let increment = call.unreturned
        call.unreturned = 0
        write(call, .windowUpdate(windowSizeIncrement: increment))
        flush()
    }

    /// The verified client certificate's names (mTLS), read once per connection.
    private var peerNames: [String]?

    private func certificateNames(_ context: ChannelHandlerContext) -> [String] {
        if let peerNames { return peerNames }
        let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate
        let names = certificate.map(CertificateNames.of) ?? []
        peerNames = names
        return names
    }

    // MARK: Idle connections

    /// Closes a connection that never spoke HTTP/2 within the handshake timeout, one without calls
    /// and silent for the idle timeout (GOAWAY, then close), and one whose client did not answer a
    /// keepalive PING: a client cannot hold connections open by sending nothing.
    private func watch() {
        guard let context else { return }
        let now = NIODeadline.now()
        if connectionUpdatePending, now - connectionUpdateWritten >= .seconds(1) {
            connectionUpdatePending = false
            connectionWindowChanged(connectionWindowSeen)
        }
        guard let lastRead else {
            if now - opened >= limits.handshakeTimeout {
                server.logger.debug("connection closed: no HTTP/2 preface in time", metadata: ["peer": "\(peer)"])
                context.close(promise: nil)
            }
            return
        }
        if let idleSince = idleGoAwaySent {
            // The client has had a second to see the GOAWAY; calls it started meanwhile were
            // served, and from now on none are taken.
            if now - idleSince >= .seconds(1) { beginShutdown() }
            return
        }
        if calls.isEmpty, now - lastRead >= limits.idleTimeout {
            server.logger.debug("connection closing: idle", metadata: ["peer": "\(peer)"])
            // RFC 9113 §6.8: a first GOAWAY with the largest stream id tells the client to open no
            // more streams here, without refusing one already on its way (a client that sent a
            // call as the GOAWAY left would otherwise see its connection close under it).
            idleGoAwaySent = now
            context.write(
                wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil))),
                promise: nil)
            context.flush()
            return
        }
        if let pingSent {
            if now - pingSent >= limits.keepaliveTimeout {
                server.logger.notice("connection closed: keepalive PING unanswered", metadata: ["peer": "\(peer)"])
                context.close(promise: nil)
            }
        } else if now - lastRead >= limits.keepaliveInterval {
            pingSent = now
            context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: 0x5155_4956), ack: false))), promise: nil)
            context.flush()
        }
    }

    // MARK: Shutdown

    /// Sends GOAWAY; the connection closes once its calls have ended.
    func beginShutdown() {
        guard !goingAway, let context else { return }
        goingAway = true
        context.write(
            wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil))),
            promise: nil)
        for call in calls.values where call.method?.stopsOnShutdown == true { call.stream?.finish(.stopped) }
        flush()
        closeIfDone()
    }

    /// Closes a connection that is going away once its last call has ended, after what was
    /// written for that call has been flushed (a close does not flush, and the last stream closes
    /// as its final frame is written, before the flush that would send it).
    private func closeIfDone() {
        guard goingAway, calls.isEmpty, let context else { return }
        let channel = context.channel
        context.eventLoop.execute {
            channel.flush()
            channel.close(promise: nil)
        }
    }

    static func describe(_ address: SocketAddress?) -> String {
        switch address {
        case .v4(let v4)?: "ipv4:\(v4.host):\(address?.port ?? 0)"
        case .v6(let v6)?: "ipv6:[\(v6.host)]:\(address?.port ?? 0)"
        case .unixDomainSocket?: "unix:\(address?.pathname ?? "")"
        case nil: "unknown"
        }
    }
}
