#!/usr/bin/env python3
"""The long kill -9 loop (scripts/crash-loop.sh runs it; not part of CI).

Each round starts `quiver serve` on the same data directory, checks that every write
acknowledged so far is there (bit for bit, no batch half applied, no dropped collection back),
then runs concurrent writers (upserts and deletes), seals, forced compactions, backups and
create/drop of scratch collections against it, and kills it with SIGKILL at a random moment.
Written against nothing but proto/ (Python's grpcio, stubs generated at start), like the interop
test.

    crash_loop.py --quiver .build/release/quiver --rounds 200 [--seed N] [--work DIR]

Prints a line per round and a summary; exits 1 on the first lost or half-applied write.
"""
import argparse
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

DIMENSION = 16
BATCH = 50
WRITERS = 3


def generate_stubs(proto_dir, out_dir):
    protos = [os.path.join("quiver", "v1", name) for name in sorted(os.listdir(os.path.join(proto_dir, "quiver", "v1")))]
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", proto_dir, "--python_out", out_dir, "--grpc_python_out", out_dir]
        + protos,
        check=True,
    )
    sys.path.insert(0, out_dir)


def vector(record_id, version):
    rng = random.Random(record_id * 1_000_003 + version)
    return [float(rng.randint(-20, 20)) for _ in range(DIMENSION)]


def pack(values):
    return struct.pack("<%df" % len(values), *values)


class Server:
    def __init__(self, quiver, data):
        self.process = subprocess.Popen(
            [quiver, "serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--log-level", "warning",
             "--maintenance-retry-seconds", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while True:
            line = self.process.stdout.readline()
            if line.startswith("listening "):
                self.address = line.split()[1]
                break
            if not line or time.time() > deadline:
                raise RuntimeError("the server did not start: " + self.process.stderr.read()[-2000:])
        # Keep draining stderr so that the server never blocks on a full pipe.
        self.log = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.process.stderr:
            self.log.append(line)
            del self.log[:-200]

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


class Model:
    """What was acknowledged: per record id the version (batch) that holds it, or None when its
    delete was acknowledged; per writer the batch in flight when the server died."""

    def __init__(self):
        self.lock = threading.Lock()
        self.records = {}        # id -> version or None (deleted)
        self.batches = 0
        self.in_flight = {}      # writer -> (ids, version) sent but not acknowledged
        self.collections = set()  # scratch collections whose create was acknowledged, drop not
        self.dropped = set()     # scratch collections whose drop was acknowledged
        self.uncertain = set()   # scratch collections whose create or drop was in flight


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quiver", required=True)
    parser.add_argument("--proto-dir", default=os.path.join(os.path.dirname(__file__), "..", "proto"))
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--work")
    args = parser.parse_args()
    print("crash loop: seed %d, %d rounds" % (args.seed, args.rounds), flush=True)

    stubs = tempfile.mkdtemp(prefix="quiver-crash-stubs-")
    generate_stubs(args.proto_dir, stubs)
    import grpc
    from quiver.v1 import admin_pb2, admin_pb2_grpc, collections_pb2, collections_pb2_grpc
    from quiver.v1 import data_pb2, data_pb2_grpc, types_pb2

    work = args.work or tempfile.mkdtemp(prefix="quiver-crash-loop-")
    data = os.path.join(work, "data")
    backups = os.path.join(work, "backups")
    os.makedirs(backups, exist_ok=True)
    rng = random.Random(args.seed)
    model = Model()
    totals = {"rounds": 0, "acked_batches": 0, "records_checked": 0, "lost": 0, "half_batches": 0, "backups": 0,
              "drops": 0, "compactions": 0, "seals": 0}

    def stubs_for(address):
        channel = grpc.insecure_channel(address)
        return (channel, data_pb2_grpc.DataServiceStub(channel), collections_pb2_grpc.CollectionServiceStub(channel),
                admin_pb2_grpc.AdminServiceStub(channel))

    def verify(address):
        channel, data_stub, collections_stub, _ = stubs_for(address)
        try:
            names = {c.schema.name for c in collections_stub.ListCollections(collections_pb2.ListCollectionsRequest()).collections}
            for name in model.dropped - model.uncertain:
                if name in names:
                    raise AssertionError("dropped collection %s is back" % name)
            for name in model.collections - model.uncertain:
                if name not in names:
                    raise AssertionError("collection %s was lost" % name)
            # The batch each writer had in flight is applied whole or not at all.
            for writer, (batch_ids, version) in model.in_flight.items():
                got = data_stub.Get(data_pb2.GetRequest(collection="c", ids=batch_ids, include_vectors=False, all_fields=True))
                if version >= 0:
                    applied = sum(1 for r in got.records if r.fields["v"].int64_value == version)
                    whole = applied in (0, len(batch_ids))
                    if applied:
                        for record_id in batch_ids:
                            model.records[record_id] = version
                else:
                    # A delete: the ids that were live either all remain or are all gone.
                    live = {i for i in batch_ids if model.records.get(i) is not None}
                    present = {r.id for r in got.records}
                    whole = present == live or not present
                    if not present:
                        for record_id in live:
                            model.records[record_id] = None
                if not whole:
                    totals["half_batches"] += 1
                    raise AssertionError("writer %d's batch %d is half applied" % (writer, version))
            model.in_flight.clear()
            ids = sorted(model.records)
            lost = 0
            for start in range(0, len(ids), 5000):
                chunk = ids[start:start + 5000]
                got = data_stub.Get(data_pb2.GetRequest(collection="c", ids=chunk, include_vectors=True, all_fields=True))
                found = {r.id: r for r in got.records}
                for record_id in chunk:
                    version = model.records[record_id]
                    record = found.get(record_id)
                    if version is None:
                        if record is not None:
                            # A delete acknowledged, the record back: lost write.
                            lost += 1
                            print("lost: id %d deleted, found version %d" % (record_id, record.fields["v"].int64_value), flush=True)
                    elif record is None or record.vector != pack(vector(record_id, version)) \
                            or record.fields["v"].int64_value != version:
                        lost += 1
                        print("lost: id %d version %d, found %s" % (
                            record_id, version, "nothing" if record is None else "version %d" % record.fields["v"].int64_value),
                            flush=True)
            totals["records_checked"] += len(ids)
            # A create or drop in flight when the server died: either outcome is right.
            for name in list(model.uncertain):
                (model.collections if name in names else model.dropped).add(name)
            model.uncertain.clear()
            totals["lost"] += lost
            if lost:
                raise AssertionError("%d acknowledged writes lost" % lost)
        finally:
            channel.close()

    server = Server(args.quiver, data)
    channel, data_stub, collections_stub, admin_stub = stubs_for(server.address)
    schema = types_pb2.CollectionSchema(
        name="c", dimension=DIMENSION, metric=types_pb2.METRIC_L2,
        fields=[types_pb2.FieldSchema(name="v", type=types_pb2.FIELD_TYPE_INT64)],
        index=types_pb2.IndexSettings(nlist=16, segment_rows=2048))
    collections_stub.CreateCollection(collections_pb2.CreateCollectionRequest(schema=schema))
    channel.close()
    next_version = [1]
    scratch = [0]

    for round_number in range(args.rounds):
        verify(server.address)
        stop = threading.Event()
        channel, data_stub, collections_stub, admin_stub = stubs_for(server.address)

        def writer(index):
            local = random.Random(args.seed * 7919 + round_number * 31 + index)
            while not stop.is_set():
                with model.lock:
                    version = next_version[0]
                    next_version[0] += 1
                # Ids of this writer's range, some new, some replaced.
                base = index * 10_000_000
                ids = sorted(set(base + local.randint(0, 20_000) for _ in range(BATCH)))
                if local.random() < 0.15:
                    with model.lock:
                        model.in_flight[index] = (ids, -1)
                    try:
                        data_stub.Delete(data_pb2.DeleteRequest(collection="c", ids=ids))
                    except grpc.RpcError:
                        return
                    with model.lock:
                        for record_id in ids:
                            if record_id in model.records:
                                model.records[record_id] = None
                        del model.in_flight[index]
                    continue
                request = data_pb2.UpsertRequest(collection="c", records=[
                    types_pb2.Record(id=i, vector=pack(vector(i, version)), fields={"v": types_pb2.FieldValue(int64_value=version)})
                    for i in ids])
                with model.lock:
                    model.in_flight[index] = (ids, version)
                try:
                    data_stub.Upsert(request)
                except grpc.RpcError:
                    return
                with model.lock:
                    for record_id in ids:
                        model.records[record_id] = version
                    model.batches += 1
                    totals["acked_batches"] += 1
                    del model.in_flight[index]

        def operator():
            local = random.Random(args.seed * 104729 + round_number)
            while not stop.is_set():
                choice = local.random()
                try:
                    if choice < 0.3:
                        admin_stub.SealSegments(admin_pb2.SegmentsRequest(collection="c"))
                        totals["seals"] += 1
                    elif choice < 0.5:
                        admin_stub.CompactSegments(admin_pb2.SegmentsRequest(collection="c"))
                        totals["compactions"] += 1
                    elif choice < 0.65:
                        target = os.path.join(backups, "r%d-%d" % (round_number, local.randint(0, 1 << 30)))
                        admin_stub.Backup(admin_pb2.BackupRequest(destination=target))
                        totals["backups"] += 1
                        shutil.rmtree(target, ignore_errors=True)
                    else:
                        name = "scratch%d" % scratch[0]
                        scratch[0] += 1
                        model.uncertain.add(name)
                        collections_stub.CreateCollection(collections_pb2.CreateCollectionRequest(
                            schema=types_pb2.CollectionSchema(name=name, dimension=4, metric=types_pb2.METRIC_L2,
                                                              index=types_pb2.IndexSettings(segment_rows=256, nlist=4))))
                        model.collections.add(name)
                        model.uncertain.discard(name)
                        data_stub.Upsert(data_pb2.UpsertRequest(collection=name, records=[
                            types_pb2.Record(id=i, vector=pack([float(i), 1.0, 2.0, 3.0])) for i in range(600)]))
                        # No wait: a wait is for every background job of the database, which the
                        # writers keep busy past the kill (no drop ever ran with it); a drop while
                        # the scratch segments are still being built is the harder case anyway.
                        admin_stub.SealSegments(admin_pb2.SegmentsRequest(collection=name))
                        model.uncertain.add(name)
                        collections_stub.DropCollection(collections_pb2.DropCollectionRequest(name=name))
                        model.collections.discard(name)
                        model.dropped.add(name)
                        model.uncertain.discard(name)
                        totals["drops"] += 1
                except grpc.RpcError as error:
                    if os.environ.get("CRASH_LOOP_DEBUG"):
                        print("operator: %s" % error, flush=True)
                    return

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)] + [threading.Thread(target=operator)]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(0.2, 2.5))
        server.kill()
        stop.set()
        for thread in threads:
            thread.join()
        channel.close()
        totals["rounds"] += 1
        server = Server(args.quiver, data)
        print("round %d: %d records acknowledged so far, %d batches; %s" % (
            round_number + 1, len(model.records), totals["acked_batches"],
            ", ".join("%s %d" % (k, totals[k]) for k in ("seals", "compactions", "backups", "drops"))), flush=True)

    verify(server.address)
    server.process.send_signal(signal.SIGTERM)
    status = server.process.wait(timeout=120)
    print("crash loop: %d rounds, %d acknowledged batches, %d record checks, lost %d, half-applied batches %d, "
          "%d seals, %d compactions, %d backups, %d drops; clean shutdown exit %d" % (
              totals["rounds"], totals["acked_batches"], totals["records_checked"], totals["lost"], totals["half_batches"],
              totals["seals"], totals["compactions"], totals["backups"], totals["drops"], status), flush=True)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if totals["lost"] == 0 and totals["half_batches"] == 0 and status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
