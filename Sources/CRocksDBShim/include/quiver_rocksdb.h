/*
 * quiver_rocksdb.h — the few RocksDB calls Quiver needs that RocksDB 7.8's C API (rocksdb/c.h)
 * lacks, over the same C handles.
 *
 *   - Writes and flushes that say what failed (the Status code and subcode), so that a full disk
 *     is told from other I/O errors without matching message text.
 *   - DB::Resume(), which clears the background error a full disk leaves (RocksDB refuses every
 *     write until it is cleared), once space is free again.
 *   - DBOptions::avoid_flush_during_recovery, so that opening a database whose disk is full
 *     replays the WAL into memory instead of failing to write it out to SST files.
 *   - An info log (RocksDB's LOG file) written with plain appends. RocksDB's own writes it through
 *     a WritableFileWriter, and Debian's librocksdb is built with assertions on: after one failed
 *     append (a full disk) the next log line aborted the process on
 *     `Assertion sync_without_flush_called_ failed`. A log line that cannot be written is dropped.
 *
 * Conventions as in quiver_faiss.h: a fallible call returns a `quiver_rocks_status` and writes a
 * NUL-terminated message into the caller's buffer.
 */
#ifndef QUIVER_ROCKSDB_H
#define QUIVER_ROCKSDB_H

#include <stddef.h>
#include <stdint.h>
#include <rocksdb/c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a call's rocksdb::Status was. */
enum {
    QUIVER_ROCKS_OK = 0,
    /* IOError with subcode NoSpace: the disk (or the space RocksDB may use) is full. */
    QUIVER_ROCKS_NO_SPACE = 1,
    QUIVER_ROCKS_IO_ERROR = 2,
    QUIVER_ROCKS_CORRUPTION = 3,
    QUIVER_ROCKS_OTHER = 4,
};

/* rocksdb_write, telling a full disk apart. */
int32_t quiver_rocksdb_write(
    rocksdb_t* db, const rocksdb_writeoptions_t* options, rocksdb_writebatch_t* batch, char* err, size_t err_len);

/* rocksdb_flush_cf (waiting for the flush), telling a full disk apart. */
int32_t quiver_rocksdb_flush_cf(rocksdb_t* db, rocksdb_column_family_handle_t* family, char* err, size_t err_len);

/* DB::Resume(): clears a recoverable background error (a full disk, once space is free) by
 * flushing and syncing what is pending; returns its status. */
int32_t quiver_rocksdb_resume(rocksdb_t* db, char* err, size_t err_len);

/* Makes RocksDB's info log the file at `path`, appended to with plain write(2) calls whose
 * failures are ignored; an existing file is first renamed to `path` + ".old" (one kept). */
void quiver_rocksdb_options_set_info_log_file(rocksdb_options_t* options, const char* path);

/* DBOptions::avoid_flush_during_recovery. */
void quiver_rocksdb_options_set_avoid_flush_during_recovery(rocksdb_options_t* options, unsigned char value);

#ifdef __cplusplus
}
#endif

#endif
