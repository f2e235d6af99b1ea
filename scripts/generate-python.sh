#!/usr/bin/env bash
# Regenerates the Python client's protobuf and gRPC modules (clients/python/quiver/v1/*_pb2*.py
# and their .pyi stubs) from proto/quiver/v1 with a pinned grpcio-tools, in a virtualenv of its
# own under .build/. The generated files are committed, so installing the client never needs
# protoc. `--check` regenerates into a temporary directory and fails if the committed files
# differ (scripts/test.sh runs it).
set -euo pipefail
cd "$(dirname "$0")/.."

GRPCIO_TOOLS_VERSION=1.85.1   # its code needs protobuf >= 7.35.1 and grpcio >= 1.85.1 (pyproject.toml)

venv=.build/python-tools
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import grpc_tools" 2>/dev/null \
  || [ "$("$venv/bin/python" -m pip show grpcio-tools 2>/dev/null | sed -n 's/^Version: //p')" != "$GRPCIO_TOOLS_VERSION" ]; then
  echo "generate-python: installing grpcio-tools $GRPCIO_TOOLS_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "grpcio-tools==$GRPCIO_TOOLS_VERSION"
fi

generate() {
  local out=$1
  mkdir -p "$out/quiver/v1"
  "$venv/bin/python" -m grpc_tools.protoc --proto_path=proto \
    --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" proto/quiver/v1/*.proto
}

target=clients/python/quiver/v1
if [ "${1:-}" = "--check" ]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  generate "$scratch"
  for file in "$scratch"/quiver/v1/*; do
    if ! cmp -s "$file" "$target/$(basename "$file")"; then
      echo "generate-python: $target/$(basename "$file") is not what proto/ generates; run scripts/generate-python.sh" >&2
      exit 1
    fi
  done
  committed=$(ls "$target" | grep -c '_pb2' || true)
  generated=$(ls "$scratch/quiver/v1" | grep -c '_pb2' || true)
  if [ "$committed" != "$generated" ]; then
    echo "generate-python: $target holds $committed generated files, proto/ makes $generated" >&2
    exit 1
  fi
  echo "generate-python: the committed modules are current" >&2
else
  rm -f "$target"/*_pb2*.py "$target"/*_pb2*.pyi
  generate clients/python
  echo "generate-python: wrote $(ls "$target" | grep -c '_pb2') files to $target" >&2
fi
