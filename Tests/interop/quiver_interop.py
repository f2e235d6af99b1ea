#!/usr/bin/env python3
"""Interop client for Quiver written against nothing but proto/: Python's grpcio with stubs that
grpc_tools generates from proto/quiver/v1 at run time.

Run by Tests/QuiverServerTests/InteropTests.swift:

    quiver_interop.py --server HOST:PORT --proto-dir proto --out result.json

It creates a collection, upserts records (vectors packed with struct, as any client would),
searches, provokes two errors, and writes everything it sent and received to --out, where the
Swift test checks it against the Swift client and a brute-force oracle.
"""
import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

DIMENSION = 16
COLLECTION = "interop"


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


def unpack(data):
    return list(struct.unpack("<%df" % (len(data) // 4), data))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    stub_dir = tempfile.mkdtemp(prefix="quiver-interop-")
    generate_stubs(args.proto_dir, stub_dir)

    import grpc
    from quiver.v1 import admin_pb2, admin_pb2_grpc, collections_pb2, collections_pb2_grpc
    from quiver.v1 import data_pb2, data_pb2_grpc, search_pb2, search_pb2_grpc, types_pb2

    channel = grpc.insecure_channel(args.server)
    admin = admin_pb2_grpc.AdminServiceStub(channel)
    collections = collections_pb2_grpc.CollectionServiceStub(channel)
    data = data_pb2_grpc.DataServiceStub(channel)
    search = search_pb2_grpc.SearchServiceStub(channel)

    result = {}
    result["health"] = admin_pb2.HealthResponse.Status.Name(admin.Health(admin_pb2.HealthRequest()).status)

    schema = types_pb2.CollectionSchema(
        name=COLLECTION,
        dimension=DIMENSION,
        metric=types_pb2.METRIC_L2,
        fields=[
            types_pb2.FieldSchema(name="title", type=types_pb2.FIELD_TYPE_STRING, required=True),
            types_pb2.FieldSchema(name="year", type=types_pb2.FIELD_TYPE_INT64),
            types_pb2.FieldSchema(name="labels", type=types_pb2.FIELD_TYPE_TAGS),
        ],
    )
    created = collections.CreateCollection(collections_pb2.CreateCollectionRequest(schema=schema))
    result["created"] = {"name": created.collection.schema.name, "dimension": created.collection.schema.dimension}

    rng = random.Random(7)
    records = []
    for i in range(300):
        vector = [float(rng.randint(-6, 6)) for _ in range(DIMENSION)]
        records.append({"id": 1000 + i, "vector": vector, "title": "py-%d" % i, "year": 1990 + i % 30, "labels": ["x%d" % (i % 4)]})
    for start in range(0, len(records), 100):
        batch = records[start : start + 100]
        request = data_pb2.UpsertRequest(
            collection=COLLECTION,
            records=[
                types_pb2.Record(
                    id=r["id"],
                    vector=pack(r["vector"]),
                    fields={
                        "title": types_pb2.FieldValue(string_value=r["title"]),
                        "year": types_pb2.FieldValue(int64_value=r["year"]),
                        "labels": types_pb2.FieldValue(tags_value=types_pb2.TagList(values=r["labels"])),
                    },
                )
                for r in batch
            ],
        )
        response = data.Upsert(request)
        assert response.inserted == len(batch), response
    result["records"] = records

    queries = [[float(rng.randint(-6, 6)) for _ in range(DIMENSION)] for _ in range(5)]
    response = search.Search(
        search_pb2.SearchRequest(collection=COLLECTION, queries=b"".join(pack(q) for q in queries), k=10, output_fields=["title"])
    )
    result["queries"] = queries
    result["results"] = [
        {"ids": list(r.ids), "scores": list(r.scores), "titles": [h.fields["title"].string_value for h in r.hits]}
        for r in response.results
    ]

    # The same queries over one SearchStream, one query per request, answered in order; then a
    # stream whose second request has the wrong dimension ends with that request's status.
    streamed = search.SearchStream(
        iter([search_pb2.SearchRequest(collection=COLLECTION, queries=pack(q), k=10) for q in queries])
    )
    result["streamed"] = [{"ids": list(r.results[0].ids), "scores": list(r.results[0].scores), "titles": []} for r in streamed]
    failing = search.SearchStream(
        iter([search_pb2.SearchRequest(collection=COLLECTION, queries=pack(q), k=3) for q in (queries[0], [1.0] * 3, queries[1])])
    )
    answered = 0
    try:
        for _ in failing:
            answered += 1
    except grpc.RpcError as error:
        trailers = dict(error.trailing_metadata() or ())
        result["stream_error"] = {"code": error.code().name, "message": error.details(), "reason": trailers.get("quiver-reason"), "answered": answered}

    # A filtered search with explain, and a count by the same filter.
    expression = 'year >= 2005 and labels contains "x1"'
    response = search.Search(
        search_pb2.SearchRequest(collection=COLLECTION, queries=b"".join(pack(q) for q in queries), k=10, filter=expression, explain=True)
    )
    counted = data.Count(data_pb2.CountRequest(collection=COLLECTION, filter=expression))
    result["filtered"] = {
        "filter": expression,
        "results": [{"ids": list(r.ids), "scores": list(r.scores), "titles": []} for r in response.results],
        "passing_rows": response.explain.passing_rows,
        "strategies": [s.strategy for s in response.explain.segments],
        "count": counted.count,
    }

    got = data.Get(data_pb2.GetRequest(collection=COLLECTION, ids=[1000, 1001, 5], include_vectors=True, all_fields=True))
    result["get"] = [{"id": r.id, "vector": unpack(r.vector), "title": r.fields["title"].string_value} for r in got.records]

    errors = {}
    try:
        data.Upsert(data_pb2.UpsertRequest(collection=COLLECTION, records=[types_pb2.Record(id=1, vector=pack([1.0] * 3))]))
    except grpc.RpcError as error:
        trailers = dict(error.trailing_metadata() or ())
        errors["wrong_dimension"] = {"code": error.code().name, "message": error.details(), "reason": trailers.get("quiver-reason")}
    try:
        search.Search(search_pb2.SearchRequest(collection="missing", queries=pack([0.0] * DIMENSION), k=1))
    except grpc.RpcError as error:
        trailers = dict(error.trailing_metadata() or ())
        errors["missing_collection"] = {"code": error.code().name, "message": error.details(), "reason": trailers.get("quiver-reason")}
    try:
        search.Search(search_pb2.SearchRequest(collection=COLLECTION, queries=pack([0.0] * DIMENSION), k=1, filter="year >"))
    except grpc.RpcError as error:
        trailers = dict(error.trailing_metadata() or ())
        errors["bad_filter"] = {"code": error.code().name, "message": error.details(), "reason": trailers.get("quiver-reason")}
    result["errors"] = errors

    with open(args.out, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
