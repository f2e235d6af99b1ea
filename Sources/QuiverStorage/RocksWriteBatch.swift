import CRocksDB

/// An atomic group of RocksDB mutations. Owns its handle.
///
/// Not `Sendable`: a batch is built and written by one thread.
final class RocksWriteBatch {
    let handle: OpaquePointer

    init() { handle = rocksdb_writebatch_create() }

    deinit { rocksdb_writebatch_destroy(handle) }

    var count: Int { Int(rocksdb_writebatch_count(handle)) }

    func put(_ family: OpaquePointer, key: [UInt8], value: [UInt8]) {
        key.withUnsafeBufferPointer { k in
            value.withUnsafeBufferPointer { v in
                k.withMemoryRebound(to: CChar.self) { k in
                    v.withMemoryRebound(to: CChar.self) { v in
                        rocksdb_writebatch_put_cf(handle, family, k.baseAddress, k.count, v.baseAddress, v.count)
                    }
                }
            }
        }
    }

    func delete(_ family: OpaquePointer, key: [UInt8]) {
        key.withUnsafeBufferPointer { k in
            k.withMemoryRebound(to: CChar.self) { k in
                rocksdb_writebatch_delete_cf(handle, family, k.baseAddress, k.count)
            }
        }
    }

    /// Deletes every key in `[start, end)`.
    func deleteRange(_ family: OpaquePointer, start: [UInt8], end: [UInt8]) {
        start.withUnsafeBufferPointer { s in
            end.withUnsafeBufferPointer { e in
                s.withMemoryRebound(to: CChar.self) { s in
                    e.withMemoryRebound(to: CChar.self) { e in
                        rocksdb_writebatch_delete_range_cf(handle, family, s.baseAddress, s.count, e.baseAddress, e.count)
                    }
                }
            }
        }
    }
}
