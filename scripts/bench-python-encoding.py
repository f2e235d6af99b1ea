#!/usr/bin/env python3
"""The Python half of the vector-encoding measurement (docs/protocol.md, "Vectors"): one upsert
batch of 1,000 × 128 float32 vectors built and parsed with Python's protobuf, vectors as packed
bytes (quiver.v1, what the protocol uses) and as `repeated float` (proto/quiver/bench/v1).

    python3 scripts/bench-python-encoding.py        # needs grpcio-tools and numpy

The Swift half is `quiver bench wire`.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from google.protobuf import __version__ as protobuf_version
from google.protobuf.internal import api_implementation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTO = os.path.join(ROOT, "proto")
out = tempfile.mkdtemp(prefix="quiver-encoding-")
subprocess.run(
    [sys.executable, "-m", "grpc_tools.protoc", "-I", PROTO, "--python_out", out,
     "quiver/v1/types.proto", "quiver/v1/data.proto", "quiver/bench/v1/encoding.proto"],
    check=True, cwd=PROTO)
sys.path.insert(0, out)
from quiver.bench.v1 import encoding_pb2  # noqa: E402
from quiver.v1 import data_pb2, types_pb2  # noqa: E402

vectors = np.random.default_rng(1).standard_normal((1000, 128)).astype("<f4")


def median_us(body, repeats=30):
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        body()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def encode_bytes():
    request = data_pb2.UpsertRequest(
        collection="c", records=[types_pb2.Record(id=i, vector=v.tobytes()) for i, v in enumerate(vectors)])
    return request.SerializeToString()


def encode_floats():
    request = encoding_pb2.FloatUpsertRequest(
        collection="c", records=[encoding_pb2.FloatRecord(id=i, vector=v) for i, v in enumerate(vectors)])
    return request.SerializeToString()


packed, floats = encode_bytes(), encode_floats()


def decode_bytes():
    request = data_pb2.UpsertRequest.FromString(packed)
    return np.stack([np.frombuffer(r.vector, "<f4") for r in request.records])


def decode_floats():
    request = encoding_pb2.FloatUpsertRequest.FromString(floats)
    return np.array([r.vector for r in request.records], dtype="<f4")


assert (decode_bytes() == vectors).all() and (decode_floats() == vectors).all()
print("python protobuf %s (%s), one upsert batch of 1000 x 128 float32, medians of 30" % (protobuf_version, api_implementation.Type()))
print("  packed bytes (quiver.v1)  %d bytes  encode %8.0f us  decode %8.0f us" % (len(packed), median_us(encode_bytes), median_us(decode_bytes)))
print("  repeated float            %d bytes  encode %8.0f us  decode %8.0f us" % (len(floats), median_us(encode_floats), median_us(decode_floats)))
