#!/usr/bin/env bash
# Installs what is missing, builds Quiver (release) and runs the server. Defaults: data in ./data
# (relative to the repository), listening on 127.0.0.1:7733. Extra arguments go to `quiver serve`,
# for example: scripts/serve.sh --listen 0.0.0.0:7733 --api-keys keys.txt --tls-cert server.pem --tls-key server.key
# (beyond loopback TLS and authentication are required; docs/security.md)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
swift build -c release --product quiver
exec .build/release/quiver serve "$@"
