// The RocksDB calls of quiver_rocksdb.h. RocksDB's C API (db/c.cc) defines each C handle as a
// struct around the C++ object, and those definitions have not changed since the C API began:
// they are repeated here so that this file can reach the C++ objects behind the handles Quiver
// already holds. They must match the RocksDB the package links (Debian 12's 7.8.3): the tests
// that open, write, flush and resume a database exercise every one of them.

#include "quiver_rocksdb.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/status.h>
#include <rocksdb/write_batch.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <unistd.h>

struct rocksdb_t { rocksdb::DB* rep; };
struct rocksdb_writeoptions_t { rocksdb::WriteOptions rep; };
struct rocksdb_writebatch_t { rocksdb::WriteBatch rep; };
struct rocksdb_column_family_handle_t { rocksdb::ColumnFamilyHandle* rep; };
struct rocksdb_options_t { rocksdb::Options rep; };

namespace {

int32_t report(const rocksdb::Status& status, char* err, size_t err_len) {
    if (status.ok()) return QUIVER_ROCKS_OK;
    if (err != nullptr && err_len > 0) {
        std::string text = status.ToString();
        std::strncpy(err, text.c_str(), err_len - 1);
        err[err_len - 1] = '\0';
    }
    if (status.IsNoSpace()) return QUIVER_ROCKS_NO_SPACE;
    if (status.IsIOError()) return QUIVER_ROCKS_IO_ERROR;
    if (status.IsCorruption()) return QUIVER_ROCKS_CORRUPTION;
    return QUIVER_ROCKS_OTHER;
}

// RocksDB's info log without RocksDB's file writer (see the header): one line per message,
// timestamped, appended with write(2); a failed write loses that line and nothing else.
class PlainFileLogger : public rocksdb::Logger {
  public:
    PlainFileLogger(int fd, rocksdb::InfoLogLevel level) : rocksdb::Logger(level), fd_(fd) {}
    ~PlainFileLogger() override { ::close(fd_); }

    using rocksdb::Logger::Logv;
    void Logv(const char* format, va_list ap) override {
        char line[4096];
        std::time_t now = std::time(nullptr);
        std::tm utc;
        gmtime_r(&now, &utc);
        size_t used = std::strftime(line, sizeof line, "%Y/%m/%d-%H:%M:%S ", &utc);
        va_list copy;
        va_copy(copy, ap);
        int written = std::vsnprintf(line + used, sizeof line - used - 1, format, copy);
        va_end(copy);
        if (written < 0) return;
        used = std::min(sizeof line - 2, used + static_cast<size_t>(written));
        line[used++] = '\n';
        std::lock_guard<std::mutex> guard(mutex_);
        ssize_t ignored = ::write(fd_, line, used);
        (void)ignored;
    }

  private:
    int fd_;
    std::mutex mutex_;
};

}  // namespace

extern "C" void quiver_rocksdb_options_set_info_log_file(rocksdb_options_t* options, const char* path) {
    std::string old = std::string(path) + ".old";
    ::rename(path, old.c_str());
    int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;  // RocksDB then opens its own log, as without this call
    options->rep.info_log = std::make_shared<PlainFileLogger>(fd, options->rep.info_log_level);
}

extern "C" int32_t quiver_rocksdb_write(
    rocksdb_t* db, const rocksdb_writeoptions_t* options, rocksdb_writebatch_t* batch, char* err, size_t err_len) {
    return report(db->rep->Write(options->rep, &batch->rep), err, err_len);
}

extern "C" int32_t quiver_rocksdb_flush_cf(rocksdb_t* db, rocksdb_column_family_handle_t* family, char* err, size_t err_len) {
    rocksdb::FlushOptions options;
    options.wait = true;
    return report(db->rep->Flush(options, family->rep), err, err_len);
}

extern "C" int32_t quiver_rocksdb_resume(rocksdb_t* db, char* err, size_t err_len) {
    return report(db->rep->Resume(), err, err_len);
}

extern "C" void quiver_rocksdb_options_set_avoid_flush_during_recovery(rocksdb_options_t* options, unsigned char value) {
    options->rep.avoid_flush_during_recovery = value != 0;
}
