#!/usr/bin/env bash
# Installs the Debian packages Quiver builds and runs against — only those missing, so it is cheap
# to run every time. Works as root on a fresh Debian 12 machine (uses sudo when not root).
#
#   librocksdb-dev   storage engine (RocksDB 7.8, C API)
#   libfaiss-dev     FAISS 1.7.3, static libfaiss.a
#   liblz4-dev       LZ4 (RocksDB SST compression; segment files)
#   libopenblas-dev  makes OpenBLAS the system BLAS (about 5x faster than the reference BLAS
#                    for batched search and IVF training; switched by Debian's alternatives)
#   pkg-config       SwiftPM finds RocksDB and LZ4 through it
#   protobuf-compiler  protoc, for scripts/generate-proto.sh (the generated code is committed)
#   openssl          the TLS tests make their CA and certificates with it (docs/security.md)
#   python3-venv     only where python3 lacks ensurepip (Debian's own python3): the Python
#                    client's tests and scripts/generate-python.sh run in virtualenvs
set -euo pipefail

packages=(librocksdb-dev libfaiss-dev liblz4-dev libopenblas-dev pkg-config protobuf-compiler openssl)

if command -v python3 >/dev/null 2>&1 && ! python3 -c "import ensurepip" >/dev/null 2>&1; then
  packages+=(python3-venv)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "bootstrap: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "bootstrap: no Swift toolchain on PATH; Quiver needs Swift 6.0 or later (https://swift.org/install)" >&2
  exit 1
fi
