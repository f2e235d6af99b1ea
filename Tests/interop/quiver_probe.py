#!/usr/bin/env python3
"""Hostile-client probes of a Quiver server, written against nothing but proto/: Python's grpcio
with stubs that grpc_tools generates from proto/quiver/v1 at run time (as quiver_interop.py).

Run by Tests/QuiverServerTests/HostileClientTests.swift:

    quiver_probe.py PROBE --server HOST:PORT --proto-dir proto [options]

Probes (each prints one JSON object on standard output):
  concurrent-calls  --calls N   N unary Search calls at once on one channel (one HTTP/2 connection):
                                {"ok": n, "errors": {"CODE: details": count, ...}}
  concurrent-streams --streams N  N SearchStream calls open at once on one channel, each sending
                                one search, reading its answer, then closing:
                                {"answered": n, "errors": {...}}
  long-name --length N          CreateCollection with an N-character name:
                                {"code": ..., "reason": ..., "details_bytes": ..., "trailer_bytes": ...}
  long-filter --length N        Search with a filter whose error echoes an N-byte `like` pattern
                                (a "%" inside it, on the string field title; same output)
  mixed-load --clients N --queries FILE --slow-queries FILE --dimension D
                                One exact Search of every query in --slow-queries (raw float32)
                                on collection "big", and beside it N clients, each on its own
                                connection: two Searches (k 5) on "shared" with queries 2i and
                                2i+1 of --queries, an Upsert of record i into "writes"
                                (dimension 4) and a Get of it back. Times are time.monotonic():
                                {"slow_end": t, "slow_ids": {"q": [ids]}, "fast_ends": [t, ...],
                                 "fast_ids": {"q": [ids]}, "mismatched_reads": n, "errors": [...]}
  unread-stream --calls N --k K --dimension D
                                One SearchStream on collection "wide" (dimension D) sending N
                                searches for K hits with their vectors and reading none of the
                                answers; returns once every request was sent or none went out
                                for 3 s: {"sent": n}
  tls-calls [--ca FILE [--cert FILE --key FILE]]
                                Over TLS when --ca is given (grpc.ssl_channel_credentials), in
                                plaintext otherwise: Health, then CreateCollection "tls" (dimension
                                2) and ListCollections:
                                {"health": "SERVING", "collections": [...]} or {"error": "CODE: details"}
  idle-connections --connections N --timeout S
                                Opens N TCP connections at once and sends nothing on them; waits
                                until the server has closed all of them or S seconds passed:
                                {"closed_after": [seconds or null, ...]} (null: still open)
The collection for the search probes is "probe" with dimension 8 and a string field "title"; it
must exist.
"""
import argparse
import collections as pycollections
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time


def generate_stubs(proto_dir, out_dir):
    protos = [os.path.join("quiver", "v1", name) for name in sorted(os.listdir(os.path.join(proto_dir, "quiver", "v1")))]
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", proto_dir, "--python_out", out_dir, "--grpc_python_out", out_dir]
        + protos,
        check=True,
    )
    sys.path.insert(0, out_dir)


def pack(vector):
    return struct.pack("<%df" % len(vector), *vector)


def describe(error):
    return "%s: %s" % (error.code().name, error.details())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("probe", choices=["concurrent-calls", "concurrent-streams", "long-name", "long-filter", "unread-stream", "mixed-load", "tls-calls", "idle-connections", "refused-large-requests"])
    parser.add_argument("--server", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--streams", type=int, default=101)
    parser.add_argument("--length", type=int, default=10000)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--queries", default=None)
    parser.add_argument("--slow-queries", default=None)
    parser.add_argument("--dimension", type=int, default=1024)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--ca", default=None)
    parser.add_argument("--cert", default=None)
    parser.add_argument("--key", default=None)
    args = parser.parse_args()

    if args.probe == "idle-connections":
        import select
        import socket
        host, port = args.server.rsplit(":", 1)
        started = time.monotonic()
        sockets = []
        for _ in range(args.connections):
            s = socket.socket()
            s.connect((host, int(port)))
            sockets.append(s)
        closed = [None] * len(sockets)
        while any(c is None for c in closed) and time.monotonic() - started < args.timeout:
            waiting = [s for s, c in zip(sockets, closed) if c is None]
            readable, _, _ = select.select(waiting, [], [], 0.05)
            for s in readable:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    closed[sockets.index(s)] = time.monotonic() - started
        print(json.dumps({"closed_after": closed}))
        return

    stub_dir = tempfile.mkdtemp(prefix="quiver-probe-")
    generate_stubs(args.proto_dir, stub_dir)
    import grpc
    from quiver.v1 import collections_pb2, collections_pb2_grpc, search_pb2, search_pb2_grpc, types_pb2

    # One channel is one HTTP/2 connection: every call below is a stream on it.
    if args.ca:
        def read(path):
            with open(path, "rb") as f:
                return f.read()
        credentials = grpc.ssl_channel_credentials(
            root_certificates=read(args.ca),
            private_key=read(args.key) if args.key else None,
            certificate_chain=read(args.cert) if args.cert else None,
        )
        channel = grpc.secure_channel(args.server, credentials, options=[("grpc.use_local_subchannel_pool", 1)])
    else:
        channel = grpc.insecure_channel(args.server, options=[("grpc.use_local_subchannel_pool", 1)])
    search = search_pb2_grpc.SearchServiceStub(channel)
    query = search_pb2.SearchRequest(collection="probe", queries=pack([0.5] * 8), k=5)

    if args.probe == "tls-calls":
        from quiver.v1 import admin_pb2, admin_pb2_grpc
        try:
            health = admin_pb2_grpc.AdminServiceStub(channel).Health(admin_pb2.HealthRequest(), timeout=args.timeout)
            collections = collections_pb2_grpc.CollectionServiceStub(channel)
            collections.CreateCollection(
                collections_pb2.CreateCollectionRequest(schema=types_pb2.CollectionSchema(name="tls", dimension=2, metric=types_pb2.METRIC_L2)),
                timeout=args.timeout,
            )
            listed = collections.ListCollections(collections_pb2.ListCollectionsRequest(), timeout=args.timeout)
            print(json.dumps({
                "health": admin_pb2.HealthResponse.Status.Name(health.status),
                "collections": [c.schema.name for c in listed.collections],
            }))
        except grpc.RpcError as error:
            print(json.dumps({"error": describe(error)}))
        return
    if args.probe == "refused-large-requests":
        # --calls upserts of --length bytes of vector each (over the server's message limit) on
        # this one channel, one after another, then a Health call on the same channel.
        from quiver.v1 import admin_pb2, admin_pb2_grpc, data_pb2, data_pb2_grpc
        data = data_pb2_grpc.DataServiceStub(channel)
        request = data_pb2.UpsertRequest(collection="v", records=[types_pb2.Record(id=1, vector=bytes(args.length))])
        codes = []
        for _ in range(args.calls):
            try:
                data.Upsert(request, timeout=args.timeout)
                codes.append("OK")
            except grpc.RpcError as error:
                codes.append(error.code().name)
        try:
            health = admin_pb2_grpc.AdminServiceStub(channel).Health(admin_pb2.HealthRequest(), timeout=args.timeout)
            after = admin_pb2.HealthResponse.Status.Name(health.status)
        except grpc.RpcError as error:
            after = describe(error)
        print(json.dumps({"codes": codes, "health": after}))
        return
    if args.probe == "concurrent-calls":
        futures = [search.Search.future(query, timeout=args.timeout) for _ in range(args.calls)]
        ok = 0
        errors = pycollections.Counter()
        for future in futures:
            try:
                future.result()
                ok += 1
            except grpc.RpcError as error:
                errors[describe(error)] += 1
        print(json.dumps({"ok": ok, "errors": errors}))
    elif args.probe == "concurrent-streams":
        # Each stream sends one search, reads its answer, and then stays open until every stream
        # has had its answer (a barrier), so that N streams are open at once. A client that holds
        # back streams beyond the server's advertised limit cannot fill the barrier: it breaks
        # after a few seconds, the open streams close, and the held-back ones run then.
        answered = 0
        errors = pycollections.Counter()
        lock = threading.Lock()
        barrier = threading.Barrier(args.streams)

        def run():
            nonlocal answered
            got = threading.Event()

            def requests():
                yield query
                got.wait(args.timeout)
                try:
                    barrier.wait(5)
                except threading.BrokenBarrierError:
                    pass

            try:
                for response in search.SearchStream(requests(), timeout=args.timeout):
                    if len(response.results) == 1:
                        with lock:
                            answered += 1
                    got.set()
            except grpc.RpcError as error:
                got.set()
                with lock:
                    errors[describe(error)] += 1

        threads = [threading.Thread(target=run) for _ in range(args.streams)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(json.dumps({"answered": answered, "errors": errors}))
    elif args.probe == "mixed-load":
        from quiver.v1 import data_pb2, data_pb2_grpc

        def read(path):
            raw = open(path, "rb").read()
            row = 4 * args.dimension
            return [raw[i:i + row] for i in range(0, len(raw), row)]

        fast, slow = read(args.queries), b"".join(read(args.slow_queries))
        result = {"fast_ends": [], "fast_ids": {}, "mismatched_reads": 0, "errors": []}
        lock = threading.Lock()

        def connect():
            return grpc.insecure_channel(args.server, options=[("grpc.use_local_subchannel_pool", 1)])

        slow_channel = connect()
        slow_call = search_pb2_grpc.SearchServiceStub(slow_channel).Search.future(
            search_pb2.SearchRequest(collection="big", queries=slow, k=10, params=search_pb2.SearchParams(recall_target=1.0)),
            timeout=args.timeout)

        def slow_done(future):
            result["slow_end"] = time.monotonic()

        slow_call.add_done_callback(slow_done)

        def client(i):
            try:
                channel = connect()
                searcher, data = search_pb2_grpc.SearchServiceStub(channel), data_pb2_grpc.DataServiceStub(channel)
                ids = {}
                for q in (2 * i, 2 * i + 1):
                    response = searcher.Search(search_pb2.SearchRequest(collection="shared", queries=fast[q], k=5), timeout=args.timeout)
                    ids[str(q)] = list(response.results[0].ids)
                vector = pack([float(i), 1, 2, 3])
                data.Upsert(data_pb2.UpsertRequest(collection="writes", records=[types_pb2.Record(id=i, vector=vector)]), timeout=args.timeout)
                got = data.Get(data_pb2.GetRequest(collection="writes", ids=[i], include_vectors=True), timeout=args.timeout)
                with lock:
                    result["fast_ends"].append(time.monotonic())
                    result["fast_ids"].update(ids)
                    if len(got.records) != 1 or got.records[0].vector != vector:
                        result["mismatched_reads"] += 1
            except grpc.RpcError as error:
                with lock:
                    result["errors"].append(describe(error))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        response = slow_call.result()
        result["slow_ids"] = {str(q): list(response.results[q].ids) for q in (0, len(response.results) // 2, len(response.results) - 1)}
        print(json.dumps(result))
    elif args.probe == "unread-stream":
        wide = search_pb2.SearchRequest(collection="wide", queries=pack([0.5] * args.dimension), k=args.k, include_vectors=True)
        sent, last, done = [0], [time.time()], threading.Event()

        def requests():
            for _ in range(args.calls):
                sent[0] += 1
                last[0] = time.time()
                yield wide
            done.wait(args.timeout)

        call = search.SearchStream(requests(), timeout=args.timeout)
        deadline = time.time() + args.timeout
        while time.time() < deadline and sent[0] < args.calls and time.time() - last[0] < 3:
            time.sleep(0.05)
        print(json.dumps({"sent": sent[0]}))
        sys.stdout.flush()
        done.set()
        call.cancel()
    else:
        def report(call):
            try:
                call()
                print(json.dumps({"code": "OK"}))
            except grpc.RpcError as error:
                trailers = list(error.trailing_metadata() or ())
                reason = dict(trailers).get("quiver-reason")
                size = sum(len(key) + (len(value) if isinstance(value, (bytes, str)) else 0) for key, value in trailers)
                print(json.dumps({
                    "code": error.code().name, "reason": reason, "details_bytes": len((error.details() or "").encode()),
                    "trailer_bytes": size,
                }))

        if args.probe == "long-name":
            collections = collections_pb2_grpc.CollectionServiceStub(channel)
            schema = types_pb2.CollectionSchema(name="n" * args.length, dimension=4, metric=types_pb2.METRIC_L2)
            report(lambda: collections.CreateCollection(collections_pb2.CreateCollectionRequest(schema=schema), timeout=args.timeout))
        else:
            request = search_pb2.SearchRequest(
                collection="probe", queries=pack([0.5] * 8), k=5, filter='title like "%s%%x"' % ("x" * args.length))
            report(lambda: search.Search(request, timeout=args.timeout))

if __name__ == "__main__":
    main()
