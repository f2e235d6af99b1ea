// Interposed file operations for the fault-injection tests; the contract is in
// include/quiver_fault_injection.h. Each interposed function finds the real one with
// dlsym(RTLD_NEXT) once, checks the rules, and either fails with the rule's errno or calls through.
// Nothing here writes through an interposed function (the log uses the real write), so it cannot
// recurse.

#define _GNU_SOURCE
#include "quiver_fault_injection.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum operation { OP_WRITE, OP_SYNC, OP_ALLOCATE, OP_RENAME, OP_ANY };

struct rule {
    enum operation operation;
    int error;
    char path[256];
};

#define RULES_MAX 32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule rules[RULES_MAX];
static int rule_count = 0;
static struct timespec control_mtime;
static off_t control_size = -1;
static atomic_long injected = 0;

static ssize_t (*real_write)(int, const void*, size_t);
static ssize_t (*real_pwrite)(int, const void*, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void*, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec*, int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_fallocate64)(int, int, off_t, off_t);
static int (*real_posix_fallocate)(int, off_t, off_t);
static int (*real_rename)(const char*, const char*);
static int (*real_renameat)(int, const char*, int, const char*);

__attribute__((constructor)) static void resolve(void) {
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    real_writev = dlsym(RTLD_NEXT, "writev");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_fallocate = dlsym(RTLD_NEXT, "fallocate");
    real_fallocate64 = dlsym(RTLD_NEXT, "fallocate64");
    real_posix_fallocate = dlsym(RTLD_NEXT, "posix_fallocate");
    real_rename = dlsym(RTLD_NEXT, "rename");
    real_renameat = dlsym(RTLD_NEXT, "renameat");
}

long quiver_fault_injection_count(void) { return atomic_load(&injected); }

static int parse_error(const char* name) {
    if (strcmp(name, "ENOSPC") == 0) return ENOSPC;
    if (strcmp(name, "EDQUOT") == 0) return EDQUOT;
    if (strcmp(name, "EIO") == 0) return EIO;
    return 0;
}

static int parse_operation(const char* name, enum operation* out) {
    if (strcmp(name, "write") == 0) *out = OP_WRITE;
    else if (strcmp(name, "sync") == 0) *out = OP_SYNC;
    else if (strcmp(name, "allocate") == 0) *out = OP_ALLOCATE;
    else if (strcmp(name, "rename") == 0) *out = OP_RENAME;
    else if (strcmp(name, "any") == 0) *out = OP_ANY;
    else return 0;
    return 1;
}

// Re-reads the control file when it changed; no file means no rules. Caller holds `lock`.
static void refresh(void) {
    const char* control = getenv("QUIVER_FAULT_CONTROL");
    struct stat info;
    if (control == NULL || stat(control, &info) != 0) {
        rule_count = 0;
        control_size = -1;
        return;
    }
    if (info.st_size == control_size && info.st_mtim.tv_sec == control_mtime.tv_sec &&
        info.st_mtim.tv_nsec == control_mtime.tv_nsec) {
        return;
    }
    control_size = info.st_size;
    control_mtime = info.st_mtim;
    rule_count = 0;
    int fd = open(control, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char text[8192];
    ssize_t length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length <= 0) return;
    text[length] = '\0';
    char* save = NULL;
    for (char* line = strtok_r(text, "\n", &save); line != NULL && rule_count < RULES_MAX; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        char operation[32] = {0}, error[32] = {0}, path[256] = {0};
        int fields = sscanf(line, "%31s %31s %255s", operation, error, path);
        if (fields < 2) continue;
        struct rule rule;
        if (!parse_operation(operation, &rule.operation) || (rule.error = parse_error(error)) == 0) continue;
        strcpy(rule.path, fields == 3 ? path : "");
        rules[rule_count++] = rule;
    }
}

static void path_of_fd(int fd, char* out, size_t size) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t length = readlink(link, out, size - 1);
    out[length > 0 ? length : 0] = '\0';
}

static const char* operation_name(enum operation operation) {
    switch (operation) {
    case OP_WRITE: return "write";
    case OP_SYNC: return "sync";
    case OP_ALLOCATE: return "allocate";
    case OP_RENAME: return "rename";
    default: return "any";
    }
}

// The errno to fail this call with, or 0 to let it run.
static int should_fail(enum operation operation, const char* path) {
    if (getenv("QUIVER_FAULT_CONTROL") == NULL) return 0;
    int error = 0;
    pthread_mutex_lock(&lock);
    refresh();
    for (int i = 0; i < rule_count && error == 0; i++) {
        if (rules[i].operation != OP_ANY && rules[i].operation != operation) continue;
        if (rules[i].path[0] != '\0' && strstr(path, rules[i].path) == NULL) continue;
        error = rules[i].error;
    }
    pthread_mutex_unlock(&lock);
    if (error == 0) return 0;
    atomic_fetch_add(&injected, 1);
    const char* log = getenv("QUIVER_FAULT_LOG");
    if (log != NULL) {
        int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            char line[512];
            int length = snprintf(line, sizeof line, "%s %s %s\n", operation_name(operation),
                                  error == ENOSPC ? "ENOSPC" : error == EDQUOT ? "EDQUOT" : "EIO", path);
            if (length > 0) real_write(fd, line, (size_t)length < sizeof line ? (size_t)length : sizeof line - 1);
            close(fd);
        }
    }
    return error;
}

static int fd_fails(enum operation operation, int fd) {
    if (getenv("QUIVER_FAULT_CONTROL") == NULL) return 0;
    char path[4096];
    path_of_fd(fd, path, sizeof path);
    return should_fail(operation, path);
}

ssize_t write(int fd, const void* buffer, size_t count) {
    int error = fd > 2 ? fd_fails(OP_WRITE, fd) : 0;
    if (error) { errno = error; return -1; }
    return real_write(fd, buffer, count);
}

ssize_t pwrite(int fd, const void* buffer, size_t count, off_t offset) {
    int error = fd_fails(OP_WRITE, fd);
    if (error) { errno = error; return -1; }
    return real_pwrite(fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void* buffer, size_t count, off_t offset) {
    int error = fd_fails(OP_WRITE, fd);
    if (error) { errno = error; return -1; }
    return real_pwrite64(fd, buffer, count, offset);
}

ssize_t writev(int fd, const struct iovec* vectors, int count) {
    int error = fd > 2 ? fd_fails(OP_WRITE, fd) : 0;
    if (error) { errno = error; return -1; }
    return real_writev(fd, vectors, count);
}

int fsync(int fd) {
    int error = fd_fails(OP_SYNC, fd);
    if (error) { errno = error; return -1; }
    return real_fsync(fd);
}

int fdatasync(int fd) {
    int error = fd_fails(OP_SYNC, fd);
    if (error) { errno = error; return -1; }
    return real_fdatasync(fd);
}

int fallocate(int fd, int mode, off_t offset, off_t length) {
    int error = fd_fails(OP_ALLOCATE, fd);
    if (error) { errno = error; return -1; }
    return real_fallocate(fd, mode, offset, length);
}

int fallocate64(int fd, int mode, off_t offset, off_t length) {
    int error = fd_fails(OP_ALLOCATE, fd);
    if (error) { errno = error; return -1; }
    return real_fallocate64(fd, mode, offset, length);
}

// posix_fallocate reports its error as the return value, not in errno.
int posix_fallocate(int fd, off_t offset, off_t length) {
    int error = fd_fails(OP_ALLOCATE, fd);
    if (error) return error;
    return real_posix_fallocate(fd, offset, length);
}

int rename(const char* from, const char* to) {
    int error = should_fail(OP_RENAME, to);
    if (error) { errno = error; return -1; }
    return real_rename(from, to);
}

int renameat(int from_dir, const char* from, int to_dir, const char* to) {
    int error = should_fail(OP_RENAME, to);
    if (error) { errno = error; return -1; }
    return real_renameat(from_dir, from, to_dir, to);
}
