import GRPCCore
import Logging
import QuiverCore

/// One structured log line per call: method, outcome and duration; plus the deadline flag that
/// handlers read from `CallInfo`. Successful calls log at `debug`, refused ones (caller errors) at
/// `notice`, failures on the server's side at `error`.
struct AccessLogInterceptor: ServerInterceptor {
    let logger: Logger

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let started = ContinuousClock.now
        let hasDeadline = request.metadata[stringValues: "grpc-timeout"].first(where: { _ in true }) != nil
        var metadata: Logger.Metadata = ["method": "\(context.descriptor.fullyQualifiedMethod)", "peer": "\(context.remotePeer)"]
        do {
            let response = try await CallInfo.$hasDeadline.withValue(hasDeadline) { try await next(request, context) }
            metadata["duration_ms"] = "\(Self.milliseconds(since: started))"
            switch response.accepted {
            case .success:
                logger.debug("call", metadata: metadata)
            case .failure(let error):
                log(error, metadata: &metadata)
            }
            return response
        } catch let error as RPCError {
            metadata["duration_ms"] = "\(Self.milliseconds(since: started))"
            log(error, metadata: &metadata)
            throw error
        }
    }

    private func log(_ error: RPCError, metadata: inout Logger.Metadata) {
        metadata["status"] = "\(error.code)"
        metadata["error"] = "\(error.message)"
        switch error.code {
        case .internalError, .dataLoss, .unknown: logger.error("call failed", metadata: metadata)
        default: logger.notice("call refused", metadata: metadata)
        }
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return String(format: "%.3f", ms)
    }
}

#if canImport(Foundation)
import Foundation
#endif
