#!/usr/bin/env python3
"""The Python client against a release server (docs/benchmarks.md, "Python client").

    scripts/bench-python.py [--rows 1000000] [--dim 128] [--queries 2000]

Starts `.build/release/quiver serve` (build it first: swift build -c release --product quiver)
on a free loopback port over a temporary directory, installs ./clients/python into the
virtualenv .build/python-test if it is not there, and prints:

1. `Client.upsert` of ROWS × DIM float32 (random, with an int64 and a string field or without)
   in vectors/s, beside the same load sent as one `Record` message per row through the raw
   stubs (what a user without the client writes);
2. the client's own cost per search: `Client.search` of one query over a 100-row collection
   against the same call made on the raw stub with a prebuilt request, alternating, medians of
   the per-call time (the difference is the client's encoding and decoding).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
VENV = REPOSITORY / ".build/python-test"


def ensure_venv() -> None:
    python = VENV / "bin/python"
    if pathlib.Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPOSITORY / "clients/python")], check=True)
    os.execv(str(python), [str(python), *sys.argv])


def main() -> None:
    ensure_venv()
    import numpy as np

    import quiver
    from quiver.v1 import data_pb2, data_pb2_grpc, search_pb2, search_pb2_grpc, types_pb2

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=5_000, help="rows per request (quiver import's default at d = 128)")
    args = parser.parse_args()

    binary = REPOSITORY / ".build/release/quiver"
    if not binary.exists():
        sys.exit("bench-python: build the server first: swift build -c release --product quiver")
    with tempfile.TemporaryDirectory(prefix="quiver-bench-python-") as directory:
        server = subprocess.Popen(
            [str(binary), "serve", "--data-dir", directory + "/data", "--listen", "127.0.0.1:0", "--log-level", "warning"],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            line = server.stdout.readline()
            if not line.startswith("listening "):
                sys.exit(f"bench-python: the server did not start: {line!r}")
            address = line.split()[1]
            run(address, args, np, quiver, data_pb2, data_pb2_grpc, search_pb2, search_pb2_grpc, types_pb2)
        finally:
            server.terminate()
            server.wait()


def run(address, args, np, quiver, data_pb2, data_pb2_grpc, search_pb2, search_pb2_grpc, types_pb2) -> None:
    import grpc

    rng = np.random.default_rng(7)
    # Clustered like the other benchmarks' data (100 Gaussian clusters), not uniform noise.
    rows, dim = args.rows, args.dim
    centers = rng.standard_normal((100, dim)).astype(np.float32)
    vectors = centers[rng.integers(0, 100, rows)] + 0.1 * rng.standard_normal((rows, dim), dtype=np.float32)
    ids = np.arange(rows, dtype=np.uint64)
    years = rng.integers(1900, 2030, rows)
    titles = [f"title {i}" for i in range(rows)]
    print(f"bench-python — {os.cpu_count()} cores, Python {sys.version.split()[0]}, numpy {np.__version__}, grpcio {grpc.__version__}")
    print(f"server {address} (release), sync=always")
    with quiver.Client(address) as client:
        print(f"upsert of {rows:,} × {dim} float32:")
        for label, fields in (("no fields", None), ("an int64 and a string field", {"year": years, "title": titles})):
            name = "load_" + ("plain" if fields is None else "fields")
            client.create_collection(name, dim=dim, fields=None if fields is None else {"year": "int64", "title": "string"})
            started = time.perf_counter()
            client.upsert(name, ids, vectors, fields, batch_size=args.batch_size)
            seconds = time.perf_counter() - started
            print(f"  Client.upsert, {label}: {rows / seconds:,.0f} vectors/s ({seconds:.1f} s)")
            # The next load should not pay for this one's index builds.
            while client.describe_collection(name).pending:
                time.sleep(0.2)
        # The same vectors as one Record message per row on the raw stub, for a tenth of the rows.
        sample = rows // 10
        client.create_collection("load_rows", dim=dim)
        channel = grpc.insecure_channel(address, [("grpc.max_send_message_length", 64 << 20)])
        data = data_pb2_grpc.DataServiceStub(channel)

        def requests():
            for start in range(0, sample, 10_000):
                request = data_pb2.UpsertRequest(collection="load_rows")
                for i in range(start, min(sample, start + 10_000)):
                    request.records.append(types_pb2.Record(id=i, vector=vectors[i].tobytes()))
                yield request

        started = time.perf_counter()
        data.UpsertStream(requests())
        seconds = time.perf_counter() - started
        print(f"  raw stubs, a Record message per row ({sample:,} rows): {sample / seconds:,.0f} vectors/s")
        print("  target: Client.upsert at least 150,000 vectors/s")

        client.create_collection("tiny", dim=dim)
        client.upsert("tiny", ids[:100], vectors[:100])
        search = search_pb2_grpc.SearchServiceStub(channel)
        queries = rng.random((args.queries, dim), dtype=np.float32)
        prebuilt = [search_pb2.SearchRequest(collection="tiny", queries=q.tobytes(), k=10) for q in queries]
        client_times, raw_times = [], []
        for i, query in enumerate(queries):
            for path in ((0, 1) if i % 2 == 0 else (1, 0)):
                started = time.perf_counter()
                if path == 0:
                    client.search("tiny", query, k=10)
                    client_times.append(time.perf_counter() - started)
                else:
                    search.Search(prebuilt[i])
                    raw_times.append(time.perf_counter() - started)
        c, r = statistics.median(client_times) * 1e6, statistics.median(raw_times) * 1e6
        print(f"search of one query over 100 rows, k=10, {args.queries:,} each, alternating, medians:")
        print(f"  Client.search {c:.0f} µs, raw stub with a prebuilt request {r:.0f} µs: client overhead {c - r:.0f} µs (target under 50 µs)")
        channel.close()


if __name__ == "__main__":
    main()
