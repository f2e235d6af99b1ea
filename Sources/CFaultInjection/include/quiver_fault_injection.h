/*
 * quiver_fault_injection.h — a test-only library that makes a process's file writes fail on
 * purpose. Loaded with LD_PRELOAD into a `quiver serve` child by the fault-injection tests
 * (Tests/QuiverServerTests/FaultInjectionTests.swift); never linked into the server.
 *
 * It interposes write, pwrite, pwrite64, writev, fsync, fdatasync, fallocate, fallocate64,
 * posix_fallocate, rename and renameat. While the file named by $QUIVER_FAULT_CONTROL exists,
 * each of its lines is a rule
 *
 *     OPERATION ERRNO [PATH-SUBSTRING]
 *
 * with OPERATION write (write, pwrite, writev), sync (fsync, fdatasync), allocate (fallocate,
 * posix_fallocate), rename, or any; ERRNO ENOSPC, EDQUOT or EIO; and a call on a file whose path
 * contains PATH-SUBSTRING (any file without one) fails with that errno instead of running. Lines
 * starting with '#' are ignored. Remove the file and the faults stop: a full disk that is freed.
 * Every injected failure is appended to $QUIVER_FAULT_LOG (when set) as "OPERATION ERRNO PATH".
 * The control file is read again whenever it changes.
 */
#ifndef QUIVER_FAULT_INJECTION_H
#define QUIVER_FAULT_INJECTION_H

/* The number of failures injected so far in this process. */
long quiver_fault_injection_count(void);

#endif
