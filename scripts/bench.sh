#!/usr/bin/env bash
# Builds Quiver in release mode and runs a benchmark of `quiver-bench`, for example:
#   scripts/bench.sh engine            # the engine-core figures of docs/benchmarks.md
#   scripts/bench.sh engine --quick    # a smoke run with tiny sizes
#   scripts/bench.sh --help            # every benchmark
# Both quiver and quiver-bench are built: the import and restart benchmarks run quiver commands
# as child processes.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
swift build -c release --product quiver
swift build -c release --product quiver-bench
exec .build/release/quiver-bench "$@"
