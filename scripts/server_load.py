"""Throughput of `quiver serve` under closed-loop single-query search load (docs/benchmarks.md,
"The cost of a call").

1. Generates N × 128 clustered vectors with NumPy (centres uniform in [-1, 1]^d, Gaussian spread,
   as scripts/peer_search.py) and imports them offline into a fresh database (`quiver collection
   create`, `quiver import --data-dir`: indexed segments).
2. Finds the smallest nprobe whose recall@10 reaches --recall against NumPy brute force.
3. Serves the database, and for each concurrency: Python grpcio clients (one process each) and
   the Swift client (`quiver-bench load --server`, one connection per caller, one process)
   search one query per call for --seconds; prints QPS, p50/p99 latency and the server's CPU per
   call (utime + stime of the server process from /proc over the load, divided by the calls).
4. Stops the server and runs the same load in-process (`quiver-bench load --data-dir`) on the
   same data and threads.

Run it through scripts/bench-server-load.sh, which builds the release binaries.
"""
import argparse
import json
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def stubs(proto, out):
    from grpc_tools import protoc
    import grpc_tools
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    files = [os.path.join(proto, "quiver/v1", f) for f in sorted(os.listdir(os.path.join(proto, "quiver/v1"))) if f.endswith(".proto")]
    if protoc.main(["protoc", f"-I{proto}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *files]) != 0:
        sys.exit("could not generate the Python stubs")


def python_client(pbdir, address, queries_path, nprobe, warm, deadline, results):
    sys.path.insert(0, pbdir)
    import grpc
    from quiver.v1 import search_pb2 as S, search_pb2_grpc as SG
    queries = np.load(queries_path)
    stub = SG.SearchServiceStub(grpc.insecure_channel(address))
    requests = [S.SearchRequest(collection="bench", queries=q.tobytes(), k=10, params=S.SearchParams(nprobe=nprobe)) for q in queries]
    latencies, i = [], os.getpid() * 7919
    while True:
        started = time.time()
        if started >= deadline:
            break
        stub.Search(requests[i % len(requests)])
        i += 1
        if started >= warm:
            latencies.append(time.time() - started)
    results.put(latencies)


def summarize(latencies, seconds):
    latencies = np.sort(np.asarray(latencies))
    if len(latencies) == 0:
        return {"calls": 0, "qps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0}
    return {"calls": len(latencies), "qps": len(latencies) / seconds,
            "p50_ms": float(latencies[len(latencies) // 2] * 1e3),
            "p99_ms": float(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/release", help="directory of the quiver and quiver-bench binaries")
    parser.add_argument("--count", type=int, default=1_000_000, help="rows (default 1,000,000)")
    parser.add_argument("--clients", default="1,4,16,64", help="concurrencies (default 1,4,16,64)")
    parser.add_argument("--seconds", type=float, default=10, help="seconds of load per run, after 1 s of warm-up")
    parser.add_argument("--recall", type=float, default=0.95, help="recall@10 the chosen nprobe must reach")
    parser.add_argument("--clusters", type=int, default=1_000)
    parser.add_argument("--spread", type=float, default=0.35)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", default=None, help="work directory (default: a new temporary one, removed)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (the database can be reused with --work)")
    args = parser.parse_args()
    concurrencies = [int(c) for c in args.clients.split(",")]
    if args.count < 10_000 or any(c < 1 or c > 256 for c in concurrencies) or not 0 < args.recall <= 1:
        parser.error("need --count ≥ 10,000, concurrencies 1–256 and --recall in (0, 1]")
    quiver, bench = os.path.join(args.bin, "quiver"), os.path.join(args.bin, "quiver-bench")
    work = args.work or tempfile.mkdtemp(prefix="quiver-load-")
    os.makedirs(work, exist_ok=True)
    data, d, k = os.path.join(work, "data"), 128, 10
    base_path, queries_path = os.path.join(work, "base.npy"), os.path.join(work, "queries.npy")
    rng = np.random.default_rng(args.seed)
    centres = rng.uniform(-1, 1, (args.clusters, d)).astype("float32")
    queries = (centres[rng.integers(0, args.clusters, 1_000)] + args.spread * rng.standard_normal((1_000, d))).astype("float32")
    np.save(queries_path, queries)
    if not os.path.exists(data):
        print(f"generating {args.count} × {d} clustered ({args.clusters} clusters, spread {args.spread}) and importing offline", flush=True)
        base = np.empty((args.count, d), dtype="float32")
        for start in range(0, args.count, 100_000):
            n = min(100_000, args.count - start)
            base[start:start + n] = centres[rng.integers(0, args.clusters, n)] + args.spread * rng.standard_normal((n, d))
        np.save(base_path, base)
        subprocess.run([quiver, "collection", "create", "bench", "--dim", str(d), "--metric", "l2", "--data-dir", data], check=True)
        started = time.time()
        subprocess.run([quiver, "import", "bench", base_path, "--data-dir", data], check=True, stdout=subprocess.DEVNULL)
        print(f"imported in {time.time() - started:.0f} s", flush=True)
    base = np.load(base_path, mmap_mode="r")
    truth = np.empty((len(queries), k), dtype="int64")
    norms = (base.astype("float32") ** 2).sum(1)
    for start in range(0, len(queries), 100):
        q = queries[start:start + 100]
        distances = norms[None, :] - 2 * q @ base.T
        truth[start:start + 100] = np.argpartition(distances, k, axis=1)[:, :k]

    pbdir = tempfile.mkdtemp(prefix="quiver-load-pb-")
    stubs(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "proto"), pbdir)
    sys.path.insert(0, pbdir)
    import grpc
    from quiver.v1 import admin_pb2 as A, admin_pb2_grpc as AG, search_pb2 as S, search_pb2_grpc as SG
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"127.0.0.1:{port}"
    server = subprocess.Popen([quiver, "serve", "--data-dir", data, "--listen", address], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        channel = grpc.insecure_channel(address)
        deadline = time.time() + 120
        while True:
            try:
                AG.AdminServiceStub(channel).Health(A.HealthRequest(), timeout=1)
                break
            except grpc.RpcError:
                if time.time() > deadline:
                    sys.exit("the server did not answer within 120 s")
                time.sleep(0.2)
        search = SG.SearchServiceStub(channel)
        chosen = None
        for nprobe in [1, 2, 4, 8, 16, 32, 64, 128]:
            found = 0
            for start in range(0, len(queries), 100):
                response = search.Search(S.SearchRequest(collection="bench", queries=queries[start:start + 100].tobytes(), k=k,
                                                         params=S.SearchParams(nprobe=nprobe)))
                for i, result in enumerate(response.results):
                    found += len(set(result.ids) & set(truth[start + i].tolist()))
            recall = found / (len(queries) * k)
            print(f"nprobe {nprobe}: recall@10 {recall:.4f}", flush=True)
            if recall >= args.recall:
                chosen = nprobe
                break
        if chosen is None:
            sys.exit(f"no nprobe up to 128 reaches recall@10 {args.recall}")
        print(f"load at nprobe {chosen}, {args.seconds:g} s per run", flush=True)
        for clients in concurrencies:
            for kind in ("python", "swift"):
                now = time.time()
                warm, stop = now + 1 + (2 if kind == "python" else 0), now + 1 + (2 if kind == "python" else 0) + args.seconds
                if kind == "python":
                    results = mp.Queue()
                    processes = [mp.Process(target=python_client, args=(pbdir, address, queries_path, chosen, warm, stop, results))
                                 for _ in range(clients)]
                    [p.start() for p in processes]
                    time.sleep(max(0, warm - time.time()))
                    c0 = cpu(server.pid)
                    latencies = []
                    for _ in processes:
                        latencies += results.get()
                    c1 = cpu(server.pid)
                    [p.join() for p in processes]
                    figures = summarize(latencies, args.seconds)
                else:
                    process = subprocess.Popen([bench, "load", "--server", address, "--queries", queries_path, "--clients", str(clients),
                                                "--seconds", str(args.seconds), "--nprobe", str(chosen)], stdout=subprocess.PIPE, text=True)
                    time.sleep(1)
                    c0 = cpu(server.pid)
                    out, _ = process.communicate()
                    c1 = cpu(server.pid)
                    figures = json.loads(out.strip().splitlines()[-1])
                figures["cpu_us"] = (c1 - c0) / max(1, figures["calls"]) * 1e6
                rows.append((clients, kind, figures))
                print(f"{clients:>4} {kind:<7} {figures['qps']:>8.0f} QPS  p50 {figures['p50_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms"
                      f"  server CPU {figures['cpu_us']:.0f} µs/call", flush=True)
    finally:
        server.terminate()
        server.wait()
    for clients in concurrencies:
        out = subprocess.run([bench, "load", "--data-dir", data, "--queries", queries_path, "--clients", str(clients),
                              "--seconds", str(args.seconds), "--nprobe", str(chosen)], check=True, capture_output=True, text=True).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        rows.append((clients, "engine", figures))
        print(f"{clients:>4} {'engine':<7} {figures['qps']:>8.0f} QPS  p50 {figures['p50_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms"
              "  (in-process)", flush=True)
    print("\n| clients | Python grpcio QPS (p50 / p99 ms, server µs/call) | Swift client QPS (p50 / p99, µs/call) | in-process QPS (p50 / p99) | wire / in-process (best client) |")
    print("|---|---|---|---|---|")
    table = {(c, kind): f for c, kind, f in rows}
    for c in concurrencies:
        p, s, e = table[(c, "python")], table[(c, "swift")], table[(c, "engine")]
        ratio = max(p["qps"], s["qps"]) / e["qps"] if e["qps"] else 0
        print(f"| {c} | {p['qps']:,.0f} ({p['p50_ms']:.2f} / {p['p99_ms']:.2f}, {p['cpu_us']:.0f}) "
              f"| {s['qps']:,.0f} ({s['p50_ms']:.2f} / {s['p99_ms']:.2f}, {s['cpu_us']:.0f}) "
              f"| {e['qps']:,.0f} ({e['p50_ms']:.2f} / {e['p99_ms']:.2f}) | {ratio:.2f} |")
    if not args.keep and args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
