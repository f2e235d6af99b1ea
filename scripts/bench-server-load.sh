#!/usr/bin/env bash
# Server throughput under closed-loop single-query load from 1–64 clients (Python grpcio and the
# Swift client, separate processes) beside the engine in-process on the same data, with the
# server's CPU per call (docs/benchmarks.md, "The cost of a call"). Builds the release binaries;
# installs grpcio, grpcio-tools and numpy when missing. Not part of CI.
#
#   scripts/bench-server-load.sh [--count N] [--clients 1,4,16,64] [--seconds S] ...   (see --help)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c "import grpc, grpc_tools, numpy" >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore grpcio grpcio-tools numpy
fi
swift build -c release --product quiver
swift build -c release --product quiver-bench
exec python3 scripts/server_load.py --bin .build/release "$@"
