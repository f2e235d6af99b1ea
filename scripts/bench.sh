#!/usr/bin/env bash
# Builds Quiver in release mode and runs a benchmark, for example:
#   scripts/bench.sh engine            # the engine-core figures of docs/benchmarks.md
#   scripts/bench.sh engine --quick    # a smoke run with tiny sizes
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
swift build -c release --product quiver
exec .build/release/quiver bench "$@"
