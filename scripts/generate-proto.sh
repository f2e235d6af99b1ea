#!/usr/bin/env bash
# Regenerates Sources/QuiverProto from proto/quiver/v1/*.proto, and the benchmark-only messages of
# proto/quiver/bench/v1 into Sources/quiver-bench/Generated.
#
# The generated Swift code is committed, so building Quiver never needs protoc. This script builds
# the two protoc plugins from the same package versions Package.swift uses (cloned into
# .build-tools/, about 1.5 minutes each the first time) and runs Debian's protoc with them.
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOBUF_VERSION=1.39.0        # apple/swift-protobuf: protoc-gen-swift
GRPC_PROTOBUF_VERSION=2.4.1    # grpc/grpc-swift-protobuf: protoc-gen-grpc-swift-2
tools=.build-tools

scripts/bootstrap.sh
if ! command -v protoc >/dev/null 2>&1; then
  echo "generate-proto: protoc not found (Debian package protobuf-compiler)" >&2
  exit 1
fi

# Clones a package at a tag (once) and builds one of its executables in release mode (once).
build_plugin() {
  local url=$1 version=$2 product=$3
  local dir="$tools/$(basename "$url")-$version"
  if [ ! -d "$dir" ]; then
    git -c advice.detachedHead=false clone -q --branch "$version" "$url" "$dir"
  fi
  if [ ! -x "$dir/.build/release/$product" ]; then
    echo "generate-proto: building $product $version" >&2
    swift build -c release --package-path "$dir" --product "$product" >&2
  fi
  echo "$PWD/$dir/.build/release/$product"
}

swift_plugin=$(build_plugin https://github.com/apple/swift-protobuf "$PROTOBUF_VERSION" protoc-gen-swift)
grpc_plugin=$(build_plugin https://github.com/grpc/grpc-swift-protobuf "$GRPC_PROTOBUF_VERSION" protoc-gen-grpc-swift-2)

out=Sources/QuiverProto
rm -rf "$out"
mkdir -p "$out"
protoc \
  --plugin=protoc-gen-swift="$swift_plugin" \
  --plugin=protoc-gen-grpc-swift-2="$grpc_plugin" \
  --proto_path=proto \
  --swift_out="$out" --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
  --grpc-swift-2_out="$out" --grpc-swift-2_opt=Visibility=Public,FileNaming=PathToUnderscores \
  proto/quiver/v1/*.proto
echo "generate-proto: wrote $(ls "$out" | wc -l) files to $out" >&2

bench_out=Sources/quiver-bench/Generated
rm -rf "$bench_out"
mkdir -p "$bench_out"
protoc \
  --plugin=protoc-gen-swift="$swift_plugin" \
  --proto_path=proto \
  --swift_out="$bench_out" --swift_opt=Visibility=Internal,FileNaming=PathToUnderscores \
  proto/quiver/bench/v1/*.proto
echo "generate-proto: wrote $(ls "$bench_out" | wc -l) files to $bench_out" >&2
