import Foundation
import QuiverTesting
import Testing

/// Keeps `quiver-bench engine` from rotting: a run with tiny sizes must finish and print every
/// section with its figures. (The real figures come from release builds; see docs/benchmarks.md.)
@Suite struct BenchSmokeTests {
    @Test func benchEngineQuickRunPrintsEverySection() async throws {
        let bench = try ChildProcess("quiver-bench", arguments: ["engine", "--quick"])
        let exit = try await bench.waitForExit(timeout: .seconds(600))
        let text = bench.stdout
        #expect(exit.status == 0 && !exit.signaled, "\(text)\n\(bench.stderr)")
        for policy in ["always", "batch", "none"] { #expect(text.contains("sync=\(policy)")) }
        #expect(text.contains("top-10 agreement with FAISS 1.0000"))
        #expect(text.contains("ratio Quiver / best FAISS"))
        #expect(text.contains("reopen: 10000 × 128"))
    }

    @Test func benchServerQuickRunPrintsEverySection() async throws {
        let bench = try ChildProcess("quiver-bench", arguments: ["server", "--quick"])
        let exit = try await bench.waitForExit(timeout: .seconds(600))
        let text = bench.stdout
        #expect(exit.status == 0 && !exit.signaled, "\(text)\n\(bench.stderr)")
        for line in ["one client, Upsert in turn", "concurrent clients, Upsert", "one UpsertStream", "in-process Database.search",
                     "through the server", "ratio server / in-process", "through a SearchSession",
                     "ratio SearchSession / in-process", "a SearchSession per caller"] {
            #expect(text.contains(line), "missing \(line)")
        }
    }

    /// `server --tls`: both servers answer alike (the bench checks it) and every figure prints.
    @Test func benchServerTLSQuickRunPrintsEverySection() async throws {
        let bench = try ChildProcess("quiver-bench", arguments: ["server", "--tls", "--quick"])
        let exit = try await bench.waitForExit(timeout: .seconds(600))
        let text = bench.stdout
        #expect(exit.status == 0 && !exit.signaled, "\(text)\n\(bench.stderr)")
        for line in ["one client, Upsert in turn", "concurrent clients, Upsert", "one UpsertStream", "rows, Search ", "rows, SearchSession",
                     "an empty call (Health)", "(target ≤ 1.15)", "(target ≥ 0.90)"] {
            #expect(text.contains(line), "missing \(line)")
        }
    }

    /// The quick IVF run: 20,000 rows in one indexed segment. The sweep ends at nprobe = nlist,
    /// where both Quiver and FAISS are exact, so both recalls must be 1.
    @Test func benchIVFQuickRunPrintsEverySection() async throws {
        let bench = try ChildProcess("quiver-bench", arguments: ["ivf", "--quick"])
        let exit = try await bench.waitForExit(timeout: .seconds(600))
        let text = bench.stdout
        #expect(exit.status == 0 && !exit.signaled, "\(text)\n\(bench.stderr)")
        for line in ["vectors/s while indexing", "the index worker was busy", "raw FAISS IVF (flat codes)", "shared quantizer:",
                     "nprobe sweep", "restart: 20000 rows ready", "resident / raw vector bytes"] {
            #expect(text.contains(line), "missing \(line)")
        }
        let nlist = text.firstMatch(of: /segments, nlist (\d+),/).map { String($0.1) } ?? "?"
        let full = text.split(separator: "\n").first { $0.hasPrefix("  \(nlist) ") }
        #expect(full?.contains("1.0000 / 1.0000") == true, "\(full ?? "no nprobe = nlist (\(nlist)) line")\n\(text)")
    }

    /// The quick filter run: every selectivity, the restart and the calibration print, and
    /// filtered recall keeps up with unfiltered recall at the same (default) target, every recall
    /// measured against the exact filtered top 10. Not the target itself (0.95): at this size the
    /// planner's choice sits on a steep step of the recall curve (nprobe 7 or 8 of lists of about
    /// 39 rows, 0.92–0.96), and which side it lands on depends on the quantizer trained in the
    /// background on the rows present at that moment; unfiltered recall read 0.9175–0.9575 over
    /// five runs of the same code, and 0.9275 in one CI run, where this test then asked 0.95 of the
    /// filtered rows. Whether targets land in their band is what `quiver-bench recall` measures
    /// (docs/benchmarks.md). A planner that lost filtered recall (0.58 at 10% before it planned
    /// for the filter) fails both checks here.
    @Test func benchFilterQuickRunPrintsEverySection() async throws {
        let bench = try ChildProcess("quiver-bench", arguments: ["filter", "--quick", "--calibrate"])
        let exit = try await bench.waitForExit(timeout: .seconds(600))
        let text = bench.stdout
        #expect(exit.status == 0 && !exit.signaled, "\(text)\n\(bench.stderr)")
        for line in ["ingest with 4 fields", "  all ", "  50% ", "  10% ", "  1% ", "  0.1% ", "  0.01% ", "lowest recall@10",
                     "count by filter", "restart: 20000 rows ready", "calibration:"] {
            #expect(text.contains(line), "missing \(line)")
        }
        let lowest = text.firstMatch(of: /lowest recall@10 ([0-9.]+)/).flatMap { Double($0.1) } ?? 0
        let unfiltered = text.firstMatch(of: /\n +all +([0-9.]+) \//).flatMap { Double($0.1) } ?? 1
        #expect(lowest >= unfiltered - 0.01 && lowest >= 0.9, "\(text)")
    }

    /// The recall benchmark's tables and its verdict (tiny sizes: the verdict's content is for
    /// the real run; here only that it is printed).
    @Test func benchRecallQuickRunPrintsEveryTable() async throws {
        let bench = try ChildProcess("quiver-bench", arguments: ["recall", "--quick"])
        let exit = try await bench.waitForExit(timeout: .seconds(600))
        let text = bench.stdout
        #expect(exit.status == 0 && !exit.signaled, "\(text)\n\(bench.stderr)")
        for line in ["== 5000 × 128", "k = 10:", "k = 100:", "  all ", "  bucket 50% ", "  place 0.1% ", "targets: achieved recall"] {
            #expect(text.contains(line), "missing \(line)")
        }
        #expect(text.contains("all targets met") || text.contains("targets missed ("), "\(text)")
    }

    @Test func benchImportQuickRunPrintsBothPaths() async throws {
        let bench = try ChildProcess("quiver-bench", arguments: ["import", "--quick"])
        let exit = try await bench.waitForExit(timeout: .seconds(600))
        let text = bench.stdout
        #expect(exit.status == 0 && !exit.signaled, "\(text)\n\(bench.stderr)")
        for line in ["file: 20000 × 128 .fvecs", "online (through the server", "offline (--data-dir", "every segment indexed"] {
            #expect(text.contains(line), "missing \(line)")
        }
    }
}
