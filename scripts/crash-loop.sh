#!/usr/bin/env bash
# The long kill -9 loop (docs/operations.md, "Fuzzing and crash loops"); not part of CI:
#
#   scripts/crash-loop.sh [ROUNDS] [extra crash_loop.py arguments]    default 200 rounds
#
# Builds the release server, then runs scripts/crash_loop.py: each round a `quiver serve` with
# concurrent writers, deletes, seals, compactions, backups and create/drop of collections, killed
# with SIGKILL at a random moment, restarted, and checked for every acknowledged write.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-200}
shift || true
scripts/bootstrap.sh
if ! python3 -c "import grpc, grpc_tools" >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore grpcio grpcio-tools
fi
swift build -c release --product quiver
exec python3 scripts/crash_loop.py --quiver .build/release/quiver --rounds "$rounds" "$@"
