"""The Python client against a real server; results checked against numpy brute force."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest

import quiver

_names = (f"c{i}" for i in itertools.count())


def fresh(client: quiver.Client, dim: int = 8, metric: str = "l2", **kwargs) -> str:
    name = next(_names)
    client.create_collection(name, dim=dim, metric=metric, **kwargs)
    return name


def brute_force(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Top-k ids in float64, ties by ascending id: the oracle."""
    v = vectors.astype(np.float64)
    q = query.astype(np.float64)
    if metric == "l2":
        order_key = ((v - q) ** 2).sum(axis=1)
    elif metric == "ip":
        order_key = -(v @ q)
    else:
        order_key = -((v / np.linalg.norm(v, axis=1, keepdims=True)) @ (q / np.linalg.norm(q)))
    order = np.lexsort((ids, order_key))
    return ids[order[:k]]


def test_collections_lifecycle(server):
    with quiver.Client(server.address) as client:
        assert client.health() and client.version()
        name = fresh(client, dim=4, metric="cosine", fields={"title": "string:required", "year": "int64", "tags": "tags"}, index={"nlist": 8})
        info = client.describe_collection(name)
        assert (info.name, info.dim, info.metric, info.rows) == (name, 4, "cosine", 0)
        assert [(f.name, f.type, f.required) for f in info.fields] == [("title", "string", True), ("year", "int64", False), ("tags", "tags", False)]
        assert info.index["nlist"] == 8
        assert name in [c.name for c in client.list_collections()]
        with pytest.raises(quiver.AlreadyExists) as error:
            client.create_collection(name, dim=4)
        assert error.value.reason == "collectionExists" and error.value.collection == name
        client.drop_collection(name)
        with pytest.raises(quiver.NotFound) as error:
            client.describe_collection(name)
        assert error.value.reason == "collectionNotFound"


def test_vectors_and_fields_round_trip_bit_exact(server):
    rng = np.random.default_rng(1)
    with quiver.Client(server.address) as client:
        name = fresh(client, dim=16, fields={"year": "int64", "price": "double", "live": "bool", "title": "string", "tags": "tags"})
        n = 300
        ids = np.arange(1000, 1000 + n, dtype=np.uint64)
        vectors = rng.standard_normal((n, 16)).astype(np.float32)
        vectors[0, 0] = np.float32(1e-45)  # a subnormal survives too
        fields = {
            "year": [None if i % 3 == 0 else 1900 + i for i in range(n)],
            "price": np.linspace(-1, 1, n),
            "live": [i % 2 == 0 for i in range(n)],
            "title": [f"t{i} é" for i in range(n)],
            "tags": [None if i % 4 == 0 else [f"a{i % 5}", "b"] for i in range(n)],
        }
        assert client.upsert(name, ids, vectors, fields) == {"inserted": n, "replaced": 0, "batches": 1}
        records = client.get(name, ids)
        assert [r.id for r in records] == ids.tolist()
        for i, record in enumerate(records):
            assert record.vector.tobytes() == vectors[i].tobytes()
            assert record.fields == {
                "year": fields["year"][i], "price": float(fields["price"][i]), "live": fields["live"][i],
                "title": fields["title"][i], "tags": fields["tags"][i],
            }
        # A list of dicts works as well, and replaces whole records.
        result = client.upsert(name, [1000, 1001], vectors[:2], [{"title": "x"}, {"year": 5}])
        assert result["replaced"] == 2
        assert client.get(name, [1000])[0].fields["year"] is None
        assert client.get(name, [1001])[0].fields == {"year": 5, "price": None, "live": None, "title": None, "tags": None}
        assert client.count(name) == n
        years = list(fields["year"])
        years[0], years[1] = None, 5
        assert client.count(name, "year >= 2000") == sum(1 for y in years if y is not None and y >= 2000)


@pytest.mark.parametrize("metric", ["l2", "ip", "cosine"])
def test_search_equals_brute_force(server, metric):
    rng = np.random.default_rng(2)
    with quiver.Client(server.address) as client:
        name = fresh(client, dim=12, metric=metric, fields={"n": "int64"})
        n = 2_000
        ids = np.arange(n, dtype=np.uint64)
        vectors = rng.standard_normal((n, 12)).astype(np.float32)
        client.upsert(name, ids, vectors, {"n": np.arange(n)})
        queries = rng.standard_normal((20, 12)).astype(np.float32)
        # The growing segment is searched exactly; nprobe 65536 would probe every list otherwise.
        results = client.search(name, queries, k=10, nprobe=65_536)
        assert len(results) == 20
        for query, hits in zip(queries, results):
            assert hits.ids.dtype == np.uint64 and hits.scores.dtype == np.float32
            assert hits.ids.tolist() == brute_force(vectors, ids, query, 10, metric).tolist()
        # A filter, output fields and vectors.
        hits = client.search(name, queries[0], k=5, filter="n < 100", output_fields=["n"], include_vectors=True, explain=True)[0]
        passing = np.arange(100, dtype=np.uint64)
        assert hits.ids.tolist() == brute_force(vectors[:100], passing, queries[0], 5, metric).tolist()
        assert [f["n"] for f in hits.fields] == hits.ids.tolist()
        stored = vectors[hits.ids.astype(np.int64)]
        if metric == "cosine":
            stored = stored / np.linalg.norm(stored, axis=1, keepdims=True)
        np.testing.assert_allclose(hits.vectors, stored, rtol=1e-6)
        explain = client.search(name, queries[0], k=5, filter="n < 100", explain=True).explain
        assert explain["filter"] == "(< n 100)" and int(explain["passing_rows"]) == 100


def test_query_delete_and_admin(server, tmp_path):
    with quiver.Client(server.address) as client:
        name = fresh(client, dim=4, fields={"n": "int64"}, index={"nlist": 4})
        client.upsert(name, np.arange(50), np.random.default_rng(3).random((50, 4)), {"n": list(range(50))})
        got = client.query(name, "n >= 45", limit=3)
        assert [r.id for r in got] == [45, 46, 47] and got[0].vector is None
        assert client.delete(name, ids=[0, 1, 999]) == 2
        assert client.delete(name, filter="n >= 40") == 10
        assert client.count(name) == 38
        with pytest.raises(quiver.InvalidArgument):
            client.delete(name)
        segments = client.seal(name, wait=True)
        assert segments and all(s.phase in ("indexed", "growing") for s in segments)
        assert any(s.phase == "indexed" for s in client.segments(name))
        assert client.compact(name, wait=True) is not None
        stats = client.stats()
        assert any(c["name"] == name for c in stats["collections"])
        backup = client.backup(str(tmp_path / "backup"))
        assert backup["collections"] >= 1 and backup["path"].endswith("backup")


def test_errors_carry_their_field_and_value(server):
    with quiver.Client(server.address) as client:
        name = fresh(client, dim=4, fields={"title": "string:required", "n": "int64"})
        with pytest.raises(quiver.InvalidArgument) as error:
            client.upsert(name, [1], np.zeros((1, 3)), {"title": ["a"]})
        assert error.value.reason == "dimensionMismatch" and error.value.field == "vector" and error.value.collection == name
        with pytest.raises(quiver.InvalidArgument) as error:
            client.upsert(name, [1, 2], np.ones((2, 4)), {"title": ["a", None]})
        assert error.value.reason == "nullNotAllowed" and error.value.field == "title" and "row 1 of the batch" in error.value.message
        with pytest.raises(quiver.InvalidArgument) as error:
            client.upsert(name, [1], np.ones((1, 4)), {"title": ["a"], "n": ["not a number"]})
        assert error.value.reason == "fieldTypeMismatch" and error.value.field == "n"
        with pytest.raises(quiver.InvalidArgument) as error:
            client.search(name, np.ones(4), k=0)
        assert error.value.field == "k"
        with pytest.raises(quiver.InvalidArgument) as error:
            client.search(name, np.ones(4), filter="n >")
        assert error.value.reason == "invalidFilter" and error.value.field == "filter"
        with pytest.raises(quiver.NotFound):
            client.count("no_such_collection")
        # Checked before anything is sent.
        with pytest.raises(quiver.InvalidArgument):
            client.upsert(name, [1, 2], np.ones((3, 4)))
        with pytest.raises(quiver.InvalidArgument):
            client.upsert(name, [-1], np.ones((1, 4)), {"title": ["a"]})
        with pytest.raises(quiver.InvalidArgument):
            client.upsert(name, [1], [["a", "b", "c", "d"]])
        assert isinstance(error.value, quiver.QuiverError)


def test_a_bad_row_refuses_the_whole_columnar_batch(server):
    with quiver.Client(server.address) as client:
        name = fresh(client, dim=4, fields={"n": "int64"})
        vectors = np.ones((100, 4), dtype=np.float32)
        vectors[57, 2] = np.nan
        with pytest.raises(quiver.InvalidArgument) as error:
            client.upsert(name, np.arange(100), vectors, {"n": np.arange(100)})
        assert error.value.reason == "nonFiniteVector" and "row 57 of the batch" in error.value.message
        assert client.count(name) == 0
        # In a load of several batches sent at once, the bad batch is refused whole and said.
        vectors = np.ones((1_000, 4), dtype=np.float32)
        vectors[612, 0] = np.inf
        with pytest.raises(quiver.InvalidArgument) as error:
            client.upsert(name, np.arange(1_000), vectors, {"n": np.arange(1_000)}, batch_size=100)
        assert error.value.reason == "nonFiniteVector" and "row 12 of the batch" in error.value.message
        assert client.count(name, "n >= 600 and n < 700") == 0


def test_large_upserts_are_split_and_streamed(server):
    with quiver.Client(server.address, max_message_bytes=1 << 20) as client:
        name = fresh(client, dim=32)
        n = 20_000
        vectors = np.random.default_rng(4).random((n, 32), dtype=np.float32)
        result = client.upsert(name, np.arange(n), vectors)
        assert result["inserted"] == n and result["batches"] > 1
        assert client.count(name) == n
        result = client.upsert(name, np.arange(n), vectors, batch_size=7_000)
        assert result == {"inserted": 0, "replaced": n, "batches": 3}
        assert client.get(name, [n - 1])[0].vector.tobytes() == vectors[n - 1].tobytes()
        # Repeated ids: the batches go in order, so the last vector of an id wins.
        twice = np.concatenate([np.arange(100), np.arange(100)])
        second = np.full((100, 32), 7, dtype=np.float32)
        result = client.upsert(name, twice, np.concatenate([vectors[:100], second]), batch_size=50)
        assert result["batches"] == 4 and result["replaced"] == 200
        assert all(r.vector.tobytes() == second[0].tobytes() for r in client.get(name, np.arange(100)))


def test_search_session(server):
    rng = np.random.default_rng(5)
    with quiver.Client(server.address) as client:
        name = fresh(client, dim=6)
        vectors = rng.random((500, 6), dtype=np.float32)
        ids = np.arange(500, dtype=np.uint64)
        client.upsert(name, ids, vectors)
        with client.search_session() as session:
            for query in rng.random((10, 6), dtype=np.float32):
                assert session.search(name, query, k=3)[0].ids.tolist() == brute_force(vectors, ids, query, 3, "l2").tolist()
            with pytest.raises(quiver.InvalidArgument):
                session.search(name, np.ones(5), k=3)
            with pytest.raises(quiver.QuiverError):
                session.search(name, np.ones(6), k=3)


def test_async_client(server):
    rng = np.random.default_rng(6)
    vectors = rng.random((300, 6), dtype=np.float32)
    ids = np.arange(300, dtype=np.uint64)

    async def run():
        async with quiver.AsyncClient(server.address) as client:
            assert await client.health()
            name = next(_names)
            await client.create_collection(name, dim=6, fields={"n": "int64"})
            assert (await client.upsert(name, ids, vectors, {"n": np.arange(300)}, batch_size=40))["inserted"] == 300
            queries = rng.random((4, 6), dtype=np.float32)
            results = await asyncio.gather(*(client.search(name, q, k=5) for q in queries))
            for query, result in zip(queries, results):
                assert result[0].ids.tolist() == brute_force(vectors, ids, query, 5, "l2").tolist()
            assert [r.id for r in await client.get(name, [3, 1])] == [3, 1]
            assert await client.count(name, "n < 10") == 10
            assert await client.delete(name, filter="n < 10") == 10
            async with client.search_session() as session:
                assert len((await session.search(name, queries[0], k=2))[0]) == 2
            with pytest.raises(quiver.NotFound):
                await client.describe_collection("missing")
            await client.drop_collection(name)

    asyncio.run(run())


def test_api_keys_and_roles(start_server, tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("reader-key-0123456789 read reader\nadmin-key-0123456789 admin ops\n")
    running = start_server(["--api-keys", str(keys)])
    with quiver.Client(running.address) as anonymous:
        assert anonymous.health()
        with pytest.raises(quiver.Unauthenticated):
            anonymous.list_collections()
    with quiver.Client(running.address, api_key="admin-key-0123456789") as admin:
        admin.create_collection("docs", dim=2)
    with quiver.Client(running.address, api_key="reader-key-0123456789") as reader:
        assert [c.name for c in reader.list_collections()] == ["docs"]
        with pytest.raises(quiver.PermissionDenied) as error:
            reader.upsert("docs", [1], [[1, 2]])
        assert error.value.reason == "insufficientRole"
    with quiver.Client(running.address, api_key="wrong-key-0123456789") as stranger:
        with pytest.raises(quiver.Unauthenticated) as error:
            stranger.count("docs")
        assert error.value.reason == "invalidCredentials"


def test_tls(start_server, tmp_path):
    import subprocess

    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    running = start_server(["--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem")])
    with quiver.Client(running.address, tls_ca=str(tmp_path / "cert.pem")) as client:
        assert client.health()
        client.create_collection("t", dim=2)
        client.upsert("t", [7], [[1.0, 2.0]])
        assert client.search("t", [1.0, 2.0], k=1)[0].ids.tolist() == [7]
    with quiver.Client(running.address, timeout=10) as plaintext:
        with pytest.raises(quiver.Unavailable):
            plaintext.count("t")


def test_unreachable_server_is_unavailable():
    with quiver.Client("127.0.0.1:1", timeout=5) as client:
        with pytest.raises(quiver.Unavailable):
            client.list_collections()
