import QuiverCore

/// A value a `RecordIDMap` can hold: empty buckets are filled with `placeholder`, never read.
protocol RecordIDMapValue {
    static var placeholder: Self { get }
}

/// A hash map from record ids to values: the id map of every collection (id → live row) and the
/// commit group's view of the ids it touches.
///
/// Why not `Dictionary`: every write looks ids up and inserts them several times on the single
/// commit thread, and `Dictionary` hashes each id with a freshly seeded SipHash. Profiles of a
/// 1,000,000-row import spent about a third of the commit thread in that hashing and in rehashing
/// on growth (docs/architecture.md, "The id map"). Here an id is mixed by the SplitMix64 finalizer
/// (a bijection on 64 bits) after adding a per-process random seed, so ids chosen by a client
/// cannot be aimed at one bucket without knowing the seed. Collisions are resolved by linear
/// probing; a removal shifts the entries after it back, so no tombstones accumulate.
///
/// An empty bucket holds the key `UInt64.max`; the record id `UInt64.max` itself lives beside the
/// table. Same memory as `Dictionary` (key, value, at most 3/4 of the buckets used).
struct RecordIDMap<Value: RecordIDMapValue>: Sequence {
    private static var empty: UInt64 { .max }

    private var keys: [UInt64] = []
    private var values: [Value] = []
    /// The value of the id `UInt64.max`, which cannot be stored in the table.
    private var maxKeyValue: Value?
    /// Buckets minus one; the bucket count is a power of two (0 buckets: mask -1).
    private var mask = -1
    private var tableCount = 0
    private let seed = RecordIDMapSeed.value

    init() {}

    var count: Int { tableCount + (maxKeyValue == nil ? 0 : 1) }

    /// Entries the table holds before it grows.
    var capacity: Int { (mask + 1) / 4 * 3 }

    /// Bytes of the table, for the memory statistics.
    var memoryBytes: Int { (mask + 1) * (MemoryLayout<UInt64>.stride + MemoryLayout<Value>.stride) }

    subscript(id: RecordID) -> Value? {
        get {
            let key = id.rawValue
            guard key != Self.empty else { return maxKeyValue }
            return find(key).map { values[$0] }
        }
        set {
            if let newValue { insert(newValue, for: id.rawValue) } else { removeValue(forKey: id) }
        }
    }

    mutating func reserveCapacity(_ minimumCapacity: Int) {
        guard minimumCapacity > capacity else { return }
        var buckets = 8
        while buckets / 4 * 3 < minimumCapacity { buckets *= 2 }
        resize(buckets: buckets)
    }

    @discardableResult
    mutating func removeValue(forKey id: RecordID) -> Value? {
        let key = id.rawValue
        if key == Self.empty {
            defer { maxKeyValue = nil }
            return maxKeyValue
        }
        guard let bucket = find(key) else { return nil }
        let value = values[bucket]
        shiftBack(from: bucket)
        tableCount -= 1
        return value
    }

    func makeIterator() -> Iterator { Iterator(map: self) }

    struct Iterator: IteratorProtocol {
        let map: RecordIDMap
        var bucket = 0
        var maxKeyDone = false

        mutating func next() -> (key: RecordID, value: Value)? {
            while bucket < map.keys.count {
                defer { bucket += 1 }
                if map.keys[bucket] != RecordIDMap.empty { return (RecordID(map.keys[bucket]), map.values[bucket]) }
            }
            guard !maxKeyDone else { return nil }
            maxKeyDone = true
            return map.maxKeyValue.map { (RecordID(RecordIDMap.empty), $0) }
        }
    }

    // MARK: Internals

    private func bucket(of key: UInt64) -> Int {
        var z = key &+ seed
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(truncatingIfNeeded: z) & mask
    }

    /// The bucket holding `key` (not `empty`), if it is in the table.
    private func find(_ key: UInt64) -> Int? {
        guard tableCount > 0 else { return nil }
        var bucket = self.bucket(of: key)
        while keys[bucket] != Self.empty {
            if keys[bucket] == key { return bucket }
            bucket = (bucket + 1) & mask
        }
        return nil
    }

    private mutating func insert(_ value: Value, for key: UInt64) {
        guard key != Self.empty else {
            maxKeyValue = value
            return
        }
        if tableCount + 1 > capacity { resize(buckets: Swift.max(8, (mask + 1) * 2)) }
        var bucket = self.bucket(of: key)
        while keys[bucket] != Self.empty {
            if keys[bucket] == key {
                values[bucket] = value
                return
            }
            bucket = (bucket + 1) & mask
        }
        keys[bucket] = key
        values[bucket] = value
        tableCount += 1
    }

    /// Empties `hole`, then moves back every later entry of the same probe run whose home bucket
    /// lies cyclically outside (hole, position], since a lookup from its home would stop at the hole.
    private mutating func shiftBack(from hole: Int) {
        var hole = hole
        var position = hole
        while true {
            position = (position + 1) & mask
            guard keys[position] != Self.empty else { break }
            let home = bucket(of: keys[position])
            let reachable = hole <= position ? (hole < home && home <= position) : (hole < home || home <= position)
            if !reachable {
                keys[hole] = keys[position]
                values[hole] = values[position]
                hole = position
            }
        }
        keys[hole] = Self.empty
        values[hole] = .placeholder
    }

    private mutating func resize(buckets: Int) {
        let oldKeys = keys
        let oldValues = values
        keys = [UInt64](repeating: Self.empty, count: buckets)
        values = [Value](repeating: .placeholder, count: buckets)
        mask = buckets - 1
        for index in oldKeys.indices where oldKeys[index] != Self.empty {
            var bucket = self.bucket(of: oldKeys[index])
            while keys[bucket] != Self.empty { bucket = (bucket + 1) & mask }
            keys[bucket] = oldKeys[index]
            values[bucket] = oldValues[index]
        }
    }
}

/// The seed of every `RecordIDMap`, drawn once per process.
private enum RecordIDMapSeed {
    static let value = UInt64.random(in: .min ... .max)
}

extension RowLocation: RecordIDMapValue {
    static var placeholder: RowLocation { RowLocation(segment: SegmentID(0), row: 0) }
}

extension RecordIDMap: Sendable where Value: Sendable {}
