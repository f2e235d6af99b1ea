import GRPCCore
import QuiverCore
import QuiverTesting
import QuiverWire

// The errors a `QuiverClient` call throws, read the way the client reads them (`WireError`), for
// `thrownError`.

extension RPCError: QuiverErrorConvertible {
    public var quiverError: QuiverError { WireError.quiverError(self) }
}

extension RuntimeError: QuiverErrorConvertible {
    public var quiverError: QuiverError { WireError.quiverError(self as any Error) }
}
