import QuiverCore
@testable import QuiverEngine
import QuiverTesting
import Testing

/// `RecordIDMap` against `Dictionary` as the oracle: random inserts, overwrites and removals over
/// a small key space (long probe runs, removals inside them) and a clustered one, with the id
/// `UInt64.max` (kept beside the table) among the keys.
@Suite struct RecordIDMapTests {
    @Test(arguments: [(seed: UInt64(1), keySpace: UInt64(64)), (2, 5_000), (3, 200_000)])
    func matchesDictionary(seed: UInt64, keySpace: UInt64) {
        var rng = SeededRandom(seed: seed)
        var map = RecordIDMap<RowLocation>()
        var oracle: [RecordID: RowLocation] = [:]
        func key() -> RecordID {
            // A few ids at the top of the range, the rest dense from zero.
            let raw = rng.next() % keySpace
            return RecordID(raw < 3 ? UInt64.max - raw : raw)
        }
        for step in 0..<60_000 {
            let id = key()
            switch rng.next() % 10 {
            case 0..<6:
                let location = RowLocation(segment: SegmentID(UInt32(step % 7)), row: step)
                map[id] = location
                oracle[id] = location
            case 6..<9:
                #expect(map.removeValue(forKey: id) == oracle.removeValue(forKey: id))
            default:
                map[id] = nil
                oracle[id] = nil
            }
            #expect(map[id] == oracle[id])
            if step % 5_000 == 0 { Self.expectEqual(map, oracle) }
        }
        Self.expectEqual(map, oracle)
        #expect(map.capacity >= map.count)
    }

    @Test func reservedCapacityHoldsWithoutGrowing() {
        var map = RecordIDMap<RowLocation>()
        map.reserveCapacity(1_000)
        let capacity = map.capacity
        #expect(capacity >= 1_000)
        for i in 0..<1_000 { map[RecordID(UInt64(i) * 1_000_003)] = RowLocation(segment: SegmentID(0), row: i) }
        #expect(map.capacity == capacity)
        #expect(map.count == 1_000)
        #expect((0..<1_000).allSatisfy { map[RecordID(UInt64($0) * 1_000_003)]?.row == $0 })
    }

    /// Every key is found, nothing else is, and iteration yields each entry once.
    static func expectEqual(_ map: RecordIDMap<RowLocation>, _ oracle: [RecordID: RowLocation]) {
        #expect(map.count == oracle.count)
        var seen: [RecordID: RowLocation] = [:]
        for (key, value) in map {
            #expect(seen[key] == nil, "iteration yielded \(key) twice")
            seen[key] = value
        }
        #expect(seen == oracle)
        for (key, value) in oracle { #expect(map[key] == value) }
    }
}
