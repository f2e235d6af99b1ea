/// Facts about the current call that interceptors learn from its metadata and handlers need.
enum CallInfo {
    /// Whether the client set a deadline (`grpc-timeout`). When gRPC cancels a call that had one,
    /// the deadline passed, and the call ends with DEADLINE_EXCEEDED rather than CANCELLED.
    @TaskLocal static var hasDeadline = false
}
