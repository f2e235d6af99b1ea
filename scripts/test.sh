#!/usr/bin/env bash
# Installs what is missing, builds everything (debug) and runs the whole test suite.
# Extra arguments go to `swift test`, for example: scripts/test.sh --filter CrashTests
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
# Build every target first: the tests start the package's executables (quiver, quiver-crash-writer)
# as child processes, so those must exist before the tests run.
swift build --build-tests
swift test --skip-build "$@"
