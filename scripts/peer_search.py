"""Single-query recall@10 and latency of PyPI faiss-cpu's HNSW and IVF on clustered vectors.

The distribution is the one `quiver-bench ivf` generates (centres uniform in [-1, 1]^d, Gaussian
spread per coordinate), drawn with NumPy here, so the rows are not the same rows: compare the
figures with Quiver's on the same parameters, not row by row. One OpenMP thread for searching,
one query per call, median latency (Python's call overhead of a few microseconds included).
"""

import argparse
import time

import faiss
import numpy as np


def timed(index, queries, truth, k):
    latencies, recalls = [], []
    for i, q in enumerate(queries):
        started = time.perf_counter()
        _, labels = index.search(q[None], k)
        latencies.append(time.perf_counter() - started)
        recalls.append(len(set(labels[0]) & set(truth[i])) / k)
    median = float(np.median(latencies))
    return float(np.mean(recalls)), median


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300_000, help="rows (default 300,000)")
    parser.add_argument("--queries", type=int, default=1_000, help="queries (default 1,000)")
    parser.add_argument("--dimension", type=int, default=128)
    parser.add_argument("--clusters", type=int, default=1_000)
    parser.add_argument("--spread", type=float, default=0.35)
    parser.add_argument("--nlist", type=int, default=1_024)
    parser.add_argument("--ef", default="8,16,32,48,64,128", help="HNSW efSearch values")
    parser.add_argument("--nprobes", default="1,2,4,8", help="IVF nprobe values")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.count < args.nlist or args.queries < 1 or args.spread <= 0:
        parser.error("need --count ≥ --nlist, --queries ≥ 1 and a positive --spread")

    rng = np.random.default_rng(args.seed)
    d, k = args.dimension, 10
    centres = rng.uniform(-1, 1, (args.clusters, d)).astype("float32")
    base = (centres[rng.integers(0, args.clusters, args.count)] + args.spread * rng.standard_normal((args.count, d))).astype("float32")
    queries = (centres[rng.integers(0, args.clusters, args.queries)] + args.spread * rng.standard_normal((args.queries, d))).astype("float32")
    print(f"faiss-cpu {faiss.__version__}: {args.count} × {d} clustered ({args.clusters} clusters, spread {args.spread}), "
          f"{args.queries} single queries, k = {k}", flush=True)
    exact = faiss.IndexFlatL2(d)
    exact.add(base)
    _, truth = exact.search(queries, k)

    faiss.omp_set_num_threads(2)
    started = time.time()
    hnsw = faiss.IndexHNSWFlat(d, 32)
    hnsw.add(base)
    print(f"IndexHNSWFlat M 32: built in {time.time() - started:.1f} s (2 threads)", flush=True)
    faiss.omp_set_num_threads(1)
    for ef in [int(v) for v in args.ef.split(",")]:
        hnsw.hnsw.efSearch = ef
        recall, median = timed(hnsw, queries, truth, k)
        print(f"  efSearch {ef:4}: recall@10 {recall:.4f}  p50 {median * 1e3:.3f} ms  QPS {1 / median:,.0f}", flush=True)

    faiss.omp_set_num_threads(2)
    quantizer = faiss.IndexFlatL2(d)
    ivf = faiss.IndexIVFFlat(quantizer, d, args.nlist)
    ivf.train(base[: min(args.count, args.nlist * 100)])
    ivf.add(base)
    faiss.omp_set_num_threads(1)
    print(f"IndexIVFFlat nlist {args.nlist}:", flush=True)
    for nprobe in [int(v) for v in args.nprobes.split(",")]:
        ivf.nprobe = nprobe
        recall, median = timed(ivf, queries, truth, k)
        print(f"  nprobe {nprobe:4}: recall@10 {recall:.4f}  p50 {median * 1e3:.3f} ms  QPS {1 / median:,.0f}", flush=True)


if __name__ == "__main__":
    main()
