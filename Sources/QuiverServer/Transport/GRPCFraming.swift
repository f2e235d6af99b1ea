import NIOCore
import NIOHPACK
import QuiverCore
import QuiverWire

/// gRPC's framing of messages on an HTTP/2 stream (the gRPC over HTTP/2 protocol,
/// `PROTOCOL-HTTP2.md`): each message is a 1-byte compressed flag, a 4-byte big-endian length and
/// the protobuf bytes; a call ends with trailers carrying `grpc-status` and `grpc-message`.
enum GRPCFraming {
    /// Headers that open every response.
    static let responseHeaders: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]

    /// One message as a DATA payload.
    static func frame(_ message: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 5 + message.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }

    /// The trailers of a call that ended with `error` (nil: OK), with the `quiver-*` details of
    /// `WireError` and any extra metadata. `trailersOnly` adds the response headers, for a call
    /// that fails before it sent any (gRPC's Trailers-Only response).
    static func trailers(_ error: QuiverError?, extra: [(String, String)] = [], trailersOnly: Bool) -> HPACKHeaders {
        var headers: HPACKHeaders = trailersOnly ? responseHeaders : [:]
        guard let error else {
            headers.add(name: "grpc-status", value: "0")
            for (name, value) in extra { headers.add(name: name, value: value) }
            return headers
        }
        headers.add(name: "grpc-status", value: String(WireError.statusCode(error.code).rawValue))
        headers.add(name: "grpc-message", value: percentEncoded(error.message))
        headers.add(name: WireError.codeKey, value: error.code.rawValue)
        headers.add(name: WireError.reasonKey, value: error.reason.rawValue)
        if let collection = error.collection { headers.add(name: WireError.collectionKey, value: base64(collection)) }
        if let field = error.field { headers.add(name: WireError.fieldKey, value: base64(field)) }
        if let value = error.value { headers.add(name: WireError.valueKey, value: base64(value)) }
        for (name, value) in extra { headers.add(name: name, value: value) }
        return headers
    }

    /// `grpc-message` is percent-encoded UTF-8: bytes outside printable ASCII, and `%`.
    static func percentEncoded(_ message: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(message.utf8.count)
        for byte in message.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Binary metadata (`-bin` keys) travels as base64, padded.
    static func base64(_ text: String) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            out.append(table[Int(triple >> 18 & 63)])
            out.append(table[Int(triple >> 12 & 63)])
            out.append(index + 1 < bytes.count ? table[Int(triple >> 6 & 63)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? table[Int(triple & 63)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A `grpc-timeout` header (`TimeoutValue TimeoutUnit`: up to 8 digits and one of H M S m u n)
    /// as a duration; nil when absent or malformed (a malformed one is ignored, as grpc-go does).
    static func timeout(_ header: String) -> TimeAmount? {
        guard let unit = header.utf8.last, header.utf8.count >= 2, header.utf8.count <= 9,
            let value = Int64(header.dropLast()), value >= 0
        else { return nil }
        switch unit {
        case UInt8(ascii: "H"): return .hours(value)
        case UInt8(ascii: "M"): return .minutes(value)
        case UInt8(ascii: "S"): return .seconds(value)
        case UInt8(ascii: "m"): return .milliseconds(value)
        case UInt8(ascii: "u"): return .microseconds(value)
        case UInt8(ascii: "n"): return .nanoseconds(value)
        default: return nil
        }
    }
}

/// Splits a stream's DATA bytes into gRPC messages. A message larger than `limit` is refused from
/// its length prefix, before its bytes are buffered.
struct GRPCMessageReader {
    let limit: Int
    private var buffer: ByteBuffer?

    init(limit: Int) { self.limit = limit }

    /// Whether bytes of an unfinished message are buffered (a request that ends here is cut short).
    var hasPartialMessage: Bool { (buffer?.readableBytes ?? 0) > 0 }

    /// Adds `bytes` and returns the messages they complete.
    mutating func append(_ bytes: inout ByteBuffer) throws(QuiverError) -> [ByteBuffer] {
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = bytes
        } else {
            buffer!.writeBuffer(&bytes)
        }
        var messages: [ByteBuffer] = []
        while let prefix = buffer!.getBytes(at: buffer!.readerIndex, length: 5) {
            guard prefix[0] == 0 else {
                throw QuiverError(
                    .unimplemented, .methodNotSupported,
                    "the request message is compressed (flag \(prefix[0])); this server accepts uncompressed messages only",
                    field: "grpc-encoding")
            }
            let length = Int(prefix[1]) << 24 | Int(prefix[2]) << 16 | Int(prefix[3]) << 8 | Int(prefix[4])
            guard length <= limit else {
                throw QuiverError(
                    .resourceExhausted, .messageTooLarge,
                    "the request message is \(length) bytes; this server accepts at most \(limit) (--max-message-bytes)",
                    field: "message", value: String(length))
            }
            guard buffer!.readableBytes >= 5 + length else { break }
            buffer!.moveReaderIndex(forwardBy: 5)
            messages.append(buffer!.readSlice(length: length)!)
        }
        if buffer!.readableBytes == 0 { buffer = nil }
        return messages
    }
}
