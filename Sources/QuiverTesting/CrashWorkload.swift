import QuiverCore

/// The deterministic write sequence of the kill -9 crash tests, shared by the child writer process
/// and the test that checks what survived.
///
/// Each writer owns a disjoint id range and writes a numbered sequence of batches; batch `n` of
/// writer `w` is a pure function of (seed, w, n). Most batches upsert 1–200 records (ids repeat,
/// so upserts replace); every fifth deletes some ids. Every record carries the number of the
/// batch that wrote it, so a half-applied batch would show up as a mixture.
public struct CrashWorkload: Sendable {
    public static let collection = "crash"
    public static let dimension = 8
    public static let idsPerWriter: UInt64 = 2_000
    public static let schema = CollectionSchema(
        name: collection, dimension: dimension, metric: .l2,
        fields: [FieldSchema(name: "batch", type: .int64, nullable: false), FieldSchema(name: "note", type: .string)])

    public enum Batch: Sendable {
        case upsert([Record])
        case delete([RecordID])
    }

    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    public func batch(writer: Int, number: Int) -> Batch {
        var rng = SeededRandom(seed: seed ^ (UInt64(writer) << 48) ^ UInt64(number) &* 0x2545_F491_4F6C_DD1D)
        let base = UInt64(writer) * Self.idsPerWriter
        let size = Int.random(in: 1...200, using: &rng)
        var ids = Set<UInt64>()
        while ids.count < size { ids.insert(base + UInt64.random(in: 0..<Self.idsPerWriter, using: &rng)) }
        let sorted = ids.sorted()
        if number % 5 == 4 { return .delete(sorted.map { RecordID($0) }) }
        return .upsert(sorted.map { id in
            var vector = (0..<Self.dimension).map { _ in Float.random(in: -1...1, using: &rng) }
            vector[0] = Float(number)
            return Record(
                id: RecordID(id), vector: vector,
                fields: ["batch": .int64(Int64(number)), "note": .string("w\(writer)-b\(number)-\(id)")])
        })
    }

    /// The live records after writer `writer` applied batches `0..<count`.
    public func model(writer: Int, count: Int) -> [RecordID: Record] {
        var state: [RecordID: Record] = [:]
        for number in 0..<count {
            switch batch(writer: writer, number: number) {
            case .upsert(let records): for r in records { state[r.id] = r }
            case .delete(let ids): for id in ids { state.removeValue(forKey: id) }
            }
        }
        return state
    }

    public func ids(writer: Int) -> [RecordID] {
        let base = UInt64(writer) * Self.idsPerWriter
        return (base..<base + Self.idsPerWriter).map { RecordID($0) }
    }
}
