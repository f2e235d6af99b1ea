#!/usr/bin/env bash
# Installs what is missing, builds Quiver (release) and runs the server. Defaults: data in ./data
# (relative to the repository), listening on 127.0.0.1:7733. Extra arguments go to `quiver serve`,
# for example: scripts/serve.sh --api-keys keys.txt --listen 0.0.0.0:7733
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
swift build -c release --product quiver
exec .build/release/quiver serve "$@"
