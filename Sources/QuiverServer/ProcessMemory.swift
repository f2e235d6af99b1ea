import Foundation

/// The process's own memory, for the metrics endpoint and the benchmarks.
public enum ProcessMemory {
    /// Resident memory: VmRSS from /proc/self/status (0 where there is none).
    public static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return kilobytes * 1024
    }
}
