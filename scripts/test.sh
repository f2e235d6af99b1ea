#!/usr/bin/env bash
# Installs what is missing, builds everything (debug) and runs the whole test suite, then the
# Python client's (pytest, in a virtualenv under .build/ with the package installed into it, after
# checking its generated modules are current), then each fuzz target for a short while
# (QUIVER_FUZZ_SECONDS each, default 60; 0 skips them).
# Extra arguments go to `swift test`, for example: scripts/test.sh --filter CrashTests (the Python
# and fuzz runs are skipped when arguments are given).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
# The interop test drives the server from Python's grpcio, with stubs generated at test time.
if ! python3 -c "import grpc, grpc_tools" >/dev/null 2>&1; then
  echo "test: installing grpcio and grpcio-tools from PyPI" >&2
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore grpcio grpcio-tools
fi
# Build every target first: the tests start the package's executables (quiver, quiver-crash-writer)
# as child processes, so those must exist before the tests run.
swift build --build-tests
swift test --skip-build "$@"
if [ $# -eq 0 ]; then
  scripts/generate-python.sh --check
  venv=.build/python-test
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./clients/python pytest
  (cd clients/python && QUIVER_BINARY="$PWD/../../.build/debug/quiver" "../../$venv/bin/python" -m pytest -q tests)
fi
fuzz_seconds=${QUIVER_FUZZ_SECONDS:-60}
if [ $# -eq 0 ] && [ "$fuzz_seconds" != 0 ]; then
  scripts/fuzz.sh all "$fuzz_seconds"
fi
