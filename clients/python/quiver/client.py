"""The synchronous client, on ``grpc`` channels."""

from __future__ import annotations

import sys
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import grpc

from . import _wire
from ._wire import CollectionInfo, SearchResults, SegmentInfo, StoredRecord
from .errors import QuiverError, from_rpc_error
from .v1 import admin_pb2, admin_pb2_grpc, collections_pb2, collections_pb2_grpc, data_pb2, data_pb2_grpc, search_pb2_grpc

__all__ = ["Client", "SearchSession", "channel_options", "credentials"]


def _read(path: Optional[str]) -> Optional[bytes]:
    if path is None:
        return None
    with open(path, "rb") as file:
        return file.read()


def credentials(tls: bool, tls_ca: Optional[str], tls_cert: Optional[str], tls_key: Optional[str]) -> Optional[grpc.ChannelCredentials]:
    """TLS credentials, or None for plaintext: TLS when any TLS option is given."""
    if (tls_cert is None) != (tls_key is None):
        raise ValueError("tls_cert and tls_key go together")
    if not (tls or tls_ca or tls_cert):
        return None
    return grpc.ssl_channel_credentials(root_certificates=_read(tls_ca), private_key=_read(tls_key), certificate_chain=_read(tls_cert))


def channel_options(max_message_bytes: int) -> List[tuple]:
    return [("grpc.max_send_message_length", max_message_bytes), ("grpc.max_receive_message_length", max_message_bytes)]


class _Progress:
    """A plain progress line on standard error for long uploads (no extra dependency)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done = total, enabled, 0

    def advance(self, rows: int) -> None:
        if not self.enabled:
            return
        self.done += rows
        width = 30
        filled = width * self.done // max(1, self.total)
        sys.stderr.write(f"\rupsert [{'#' * filled}{'.' * (width - filled)}] {self.done:,}/{self.total:,} rows")
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


class Client:
    """A connection to a Quiver server.

    Args:
        address: ``"host:port"`` of ``quiver serve``.
        api_key: sent as ``authorization: Bearer <key>`` (``--api-keys`` servers).
        timeout: seconds per call (None: no deadline).
        tls: connect over TLS trusting the system's CAs; implied by the options below.
        tls_ca: PEM file of the CA that signed the server's certificate.
        tls_cert, tls_key: PEM client certificate and key, for servers that require one (mTLS).
        max_message_bytes: the largest message sent or received; upserts are split to fit half.

    Use it as a context manager, or call :meth:`close`. Every failed call raises a
    :class:`quiver.QuiverError` subclass.
    """

    def __init__(
        self,
        address: str = "127.0.0.1:7733",
        api_key: Optional[str] = None,
        timeout: Optional[float] = None,
        *,
        tls: bool = False,
        tls_ca: Optional[str] = None,
        tls_cert: Optional[str] = None,
        tls_key: Optional[str] = None,
        max_message_bytes: int = _wire.DEFAULT_MESSAGE_BYTES,
    ) -> None:
        secure = credentials(tls, tls_ca, tls_cert, tls_key)
        options = channel_options(max_message_bytes)
        self._channel = grpc.secure_channel(address, secure, options) if secure else grpc.insecure_channel(address, options)
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self._timeout = timeout
        self._message_bytes = max_message_bytes
        self._collections = collections_pb2_grpc.CollectionServiceStub(self._channel)
        self._data = data_pb2_grpc.DataServiceStub(self._channel)
        self._search = search_pb2_grpc.SearchServiceStub(self._channel)
        self._admin = admin_pb2_grpc.AdminServiceStub(self._channel)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, metadata=self._metadata, timeout=self._timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    # Collections

    def create_collection(
        self, name: str, dim: int, metric: str = "l2", fields: Optional[Mapping[str, Any]] = None, index: Optional[Mapping[str, Any]] = None,
    ) -> CollectionInfo:
        """Creates a collection. ``metric`` is ``"l2"``, ``"ip"`` or ``"cosine"``; ``fields`` maps
        names to ``"int64"``, ``"double"``, ``"bool"``, ``"string"`` or ``"tags"`` (append
        ``":required"``, or give ``(type, True)``, for a field every record must have);
        ``index`` holds IndexSettings (``codes``, ``nlist``, ``nprobe``, ``segment_rows``, …)."""
        request = collections_pb2.CreateCollectionRequest(schema=_wire.schema(name, dim, metric, fields, index))
        return _wire.collection_info(self._call(self._collections.CreateCollection, request).collection)

    def list_collections(self) -> List[CollectionInfo]:
        """Every collection (those the key may see), sorted by name."""
        response = self._call(self._collections.ListCollections, collections_pb2.ListCollectionsRequest())
        return [_wire.collection_info(c) for c in response.collections]

    def describe_collection(self, name: str) -> CollectionInfo:
        return _wire.collection_info(self._call(self._collections.DescribeCollection, collections_pb2.DescribeCollectionRequest(name=name)).collection)

    def drop_collection(self, name: str) -> None:
        self._call(self._collections.DropCollection, collections_pb2.DropCollectionRequest(name=name))

    # Records

    def upsert(
        self, name: str, ids: Any, vectors: Any, fields: Any = None, *, batch_size: Optional[int] = None, progress: bool = False,
        in_flight: int = 4,
    ) -> Dict[str, int]:
        """Inserts or replaces records, sent as columns.

        Args:
            ids: n unsigned integers (a list or an integer array).
            vectors: an ``[n, d]`` array (converted to float32; one vector for n = 1).
            fields: a dict of columns (``{"year": [2020, None, …]}``, lists or arrays, ``None``
                for null), or a list of n dicts (one per record).
            batch_size: rows per request; by default as many as fit in half the message limit.
                Each request is one atomic batch.
            progress: print a progress bar on standard error.
            in_flight: for a load of several batches whose ids are all distinct, how many
                batches are sent at once (the server commits them together); with repeated ids
                the batches go in order on one UpsertStream instead. After an error, batches
                sent before it may be committed: upserting the same records again is safe.

        Returns: ``{"inserted": …, "replaced": …, "batches": …}``.
        """
        ids_array, vectors_array, columns = _wire.columns(ids, vectors, fields)
        rows = ids_array.shape[0]
        batch = _wire.batch_rows(rows, vectors_array.shape[1], columns, self._message_bytes, batch_size)
        requests = _wire.upsert_requests(name, ids_array, vectors_array, columns, batch)
        bar = _Progress(rows, progress)
        if rows <= batch:
            request = next(requests) if rows else data_pb2.UpsertRequest(collection=name)
            response = self._call(self._data.Upsert, request)
            bar.advance(rows)
            return {"inserted": response.inserted, "replaced": response.replaced, "batches": response.batches}
        if in_flight > 1 and _wire.distinct(ids_array):
            return self._upsert_concurrently(requests, in_flight, bar)

        def counted() -> Iterator[data_pb2.UpsertRequest]:
            for request in requests:
                yield request
                bar.advance(request.columns.rows)

        response = self._call(self._data.UpsertStream, counted())
        return {"inserted": response.inserted, "replaced": response.replaced, "batches": response.batches}

    def _upsert_concurrently(self, requests: Iterator[data_pb2.UpsertRequest], in_flight: int, bar: _Progress) -> Dict[str, int]:
        totals = {"inserted": 0, "replaced": 0, "batches": 0}
        pending: List[Any] = []

        def settle(future: Any, rows: int) -> None:
            try:
                response = future.result()
            except grpc.RpcError as error:
                for other, _ in pending:
                    other.cancel()
                raise from_rpc_error(error) from None
            totals["inserted"] += response.inserted
            totals["replaced"] += response.replaced
            totals["batches"] += 1
            bar.advance(rows)

        for request in requests:
            if len(pending) >= in_flight:
                settle(*pending.pop(0))
            pending.append((self._data.Upsert.future(request, metadata=self._metadata, timeout=self._timeout), request.columns.rows))
        while pending:
            settle(*pending.pop(0))
        return totals

    def get(self, name: str, ids: Any, output_fields: Union[str, Sequence[str], None] = "*", include_vectors: bool = True) -> List[StoredRecord]:
        """The live records among ``ids``, in their order (missing ids left out)."""
        return _wire.stored_records(self._call(self._data.Get, _wire.get_request(name, ids, output_fields, include_vectors)))

    def query(
        self, name: str, filter: Optional[str] = None, limit: int = 100, output_fields: Union[str, Sequence[str], None] = "*",
        include_vectors: bool = False,
    ) -> List[StoredRecord]:
        """Records that pass ``filter`` (docs/filters.md), ascending by id, at most ``limit``."""
        return _wire.stored_records(self._call(self._data.Query, _wire.query_request(name, filter, limit, output_fields, include_vectors)))

    def count(self, name: str, filter: Optional[str] = None) -> int:
        return int(self._call(self._data.Count, data_pb2.CountRequest(collection=name, filter=filter or "")).count)

    def delete(self, name: str, ids: Any = None, filter: Optional[str] = None) -> int:
        """Deletes by ids or by filter (one of them); returns how many were deleted."""
        return int(self._call(self._data.Delete, _wire.delete_request(name, ids, filter)).deleted)

    # Search

    def search(
        self, name: str, queries: Any, k: int = 10, filter: Optional[str] = None, nprobe: Optional[int] = None,
        output_fields: Union[str, Sequence[str], None] = None, include_vectors: bool = False, explain: bool = False,
        recall_target: Optional[float] = None,
    ) -> SearchResults:
        """The k nearest records of each query.

        ``queries`` is one vector or a ``[q, d]`` array. Returns one :class:`quiver.QueryHits`
        per query (``ids``, ``scores``, and ``fields``/``vectors`` when asked); ``output_fields``
        ``"*"`` returns every field. ``explain=True`` sets ``results.explain`` to the plan.
        """
        request = _wire.search_request(name, queries, k, filter, nprobe, recall_target, output_fields, include_vectors, explain)
        return _wire.search_results(self._call(self._search.Search, request), request)

    def search_session(self) -> "SearchSession":
        """A :class:`SearchSession`: many searches over one SearchStream call."""
        return SearchSession(self)

    # Admin

    def segments(self, name: str) -> List[SegmentInfo]:
        response = self._call(self._admin.ListSegments, admin_pb2.ListSegmentsRequest(collection=name))
        return [_wire.segment_info(s) for s in response.segments]

    def seal(self, name: str, wait: bool = False) -> List[SegmentInfo]:
        """Seals the growing segment (indexed in the background; ``wait`` for it)."""
        return [_wire.segment_info(s) for s in self._call(self._admin.SealSegments, _wire.segments_request(name, wait)).segments]

    def compact(self, name: str, wait: bool = False) -> List[SegmentInfo]:
        return [_wire.segment_info(s) for s in self._call(self._admin.CompactSegments, _wire.segments_request(name, wait)).segments]

    def stats(self) -> Dict[str, Any]:
        return _wire.stats(self._call(self._admin.Stats, admin_pb2.StatsRequest()))

    def backup(self, destination: str) -> Dict[str, Any]:
        """A consistent backup of the whole database into ``destination`` on the server's machine."""
        response = self._call(self._admin.Backup, admin_pb2.BackupRequest(destination=destination))
        return {"path": response.path, "collections": response.collections, "segment_files": response.segment_files, "bytes": response.bytes}

    def health(self) -> bool:
        """True when the server answers and is serving (needs no key)."""
        response = self._call(self._admin.Health, admin_pb2.HealthRequest())
        return response.status == admin_pb2.HealthResponse.SERVING

    def version(self) -> str:
        return self._call(self._admin.Version, admin_pb2.VersionRequest()).version


class SearchSession:
    """Searches over one ``SearchStream`` call, one at a time: each :meth:`search` sends a request
    and waits for its answer. Cheaper per search than :meth:`Client.search`. The first search
    that fails ends the session (later ones raise). Use as a context manager."""

    def __init__(self, client: Client) -> None:
        import queue

        self._client = client
        self._requests: "queue.Queue[Any]" = queue.Queue()
        self._closed = False

        def requests() -> Iterator[Any]:
            while True:
                request = self._requests.get()
                if request is None:
                    return
                yield request

        self._responses = client._search.SearchStream(requests(), metadata=client._metadata)

    def __enter__(self) -> "SearchSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def search(
        self, name: str, queries: Any, k: int = 10, filter: Optional[str] = None, nprobe: Optional[int] = None,
        output_fields: Union[str, Sequence[str], None] = None, include_vectors: bool = False, explain: bool = False,
        recall_target: Optional[float] = None,
    ) -> SearchResults:
        """As :meth:`Client.search`."""
        if self._closed:
            raise QuiverError("the search session is closed", code="failedPrecondition", reason="sessionClosed")
        request = _wire.search_request(name, queries, k, filter, nprobe, recall_target, output_fields, include_vectors, explain)
        self._requests.put(request)
        try:
            response = next(self._responses)
        except grpc.RpcError as error:
            self._closed = True
            raise from_rpc_error(error) from None
        except StopIteration:
            self._closed = True
            raise QuiverError("the server ended the search session", code="unavailable", reason="sessionClosed") from None
        return _wire.search_results(response, request)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._requests.put(None)
            try:
                for _ in self._responses:
                    pass
            except grpc.RpcError:
                pass
