"""The asyncio client, on ``grpc.aio`` channels: the methods of :class:`quiver.Client`, awaited."""

from __future__ import annotations

import asyncio

from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Sequence, Union

import grpc
import grpc.aio

from . import _wire
from ._wire import CollectionInfo, SearchResults, SegmentInfo, StoredRecord
from .client import channel_options, credentials
from .errors import QuiverError, from_rpc_error, from_status
from .v1 import admin_pb2, admin_pb2_grpc, collections_pb2, collections_pb2_grpc, data_pb2, data_pb2_grpc, search_pb2_grpc

__all__ = ["AsyncClient", "AsyncSearchSession"]


class AsyncClient:
    """As :class:`quiver.Client`, with every call a coroutine. Use ``async with``."""

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
        self._channel = grpc.aio.secure_channel(address, secure, options) if secure else grpc.aio.insecure_channel(address, options)
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self._timeout = timeout
        self._message_bytes = max_message_bytes
        self._collections = collections_pb2_grpc.CollectionServiceStub(self._channel)
        self._data = data_pb2_grpc.DataServiceStub(self._channel)
        self._search = search_pb2_grpc.SearchServiceStub(self._channel)
        self._admin = admin_pb2_grpc.AdminServiceStub(self._channel)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method: Any, request: Any) -> Any:
        try:
            return await method(request, metadata=self._metadata, timeout=self._timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def create_collection(
        self, name: str, dim: int, metric: str = "l2", fields: Optional[Mapping[str, Any]] = None, index: Optional[Mapping[str, Any]] = None,
    ) -> CollectionInfo:
        request = collections_pb2.CreateCollectionRequest(schema=_wire.schema(name, dim, metric, fields, index))
        return _wire.collection_info((await self._call(self._collections.CreateCollection, request)).collection)

    async def list_collections(self) -> List[CollectionInfo]:
        response = await self._call(self._collections.ListCollections, collections_pb2.ListCollectionsRequest())
        return [_wire.collection_info(c) for c in response.collections]

    async def describe_collection(self, name: str) -> CollectionInfo:
        response = await self._call(self._collections.DescribeCollection, collections_pb2.DescribeCollectionRequest(name=name))
        return _wire.collection_info(response.collection)

    async def drop_collection(self, name: str) -> None:
        await self._call(self._collections.DropCollection, collections_pb2.DropCollectionRequest(name=name))

    async def upsert(
        self, name: str, ids: Any, vectors: Any, fields: Any = None, *, batch_size: Optional[int] = None, in_flight: int = 4,
    ) -> Dict[str, int]:
        """As :meth:`quiver.Client.upsert` (without the progress bar)."""
        ids_array, vectors_array, columns = _wire.columns(ids, vectors, fields)
        rows = ids_array.shape[0]
        batch = _wire.batch_rows(rows, vectors_array.shape[1], columns, self._message_bytes, batch_size)
        requests = _wire.upsert_requests(name, ids_array, vectors_array, columns, batch)
        if rows <= batch:
            response = await self._call(self._data.Upsert, next(requests) if rows else data_pb2.UpsertRequest(collection=name))
        elif in_flight > 1 and _wire.distinct(ids_array):
            totals = {"inserted": 0, "replaced": 0, "batches": 0}
            slots = asyncio.Semaphore(in_flight)

            async def send(request: data_pb2.UpsertRequest) -> None:
                try:
                    response = await self._call(self._data.Upsert, request)
                finally:
                    slots.release()
                totals["inserted"] += response.inserted
                totals["replaced"] += response.replaced
                totals["batches"] += 1

            # A request is built only when a slot is free, so at most in_flight are held at once.
            tasks: List[asyncio.Task] = []
            try:
                for request in requests:
                    await slots.acquire()
                    for task in tasks:
                        if task.done() and task.exception() is not None:
                            slots.release()
                            raise task.exception()
                    tasks = [task for task in tasks if not task.done()]
                    tasks.append(asyncio.ensure_future(send(request)))
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                raise
            return totals
        else:
            async def stream() -> AsyncIterator[data_pb2.UpsertRequest]:
                for request in requests:
                    yield request

            response = await self._call(self._data.UpsertStream, stream())
        return {"inserted": response.inserted, "replaced": response.replaced, "batches": response.batches}

    async def get(self, name: str, ids: Any, output_fields: Union[str, Sequence[str], None] = "*", include_vectors: bool = True) -> List[StoredRecord]:
        return _wire.stored_records(await self._call(self._data.Get, _wire.get_request(name, ids, output_fields, include_vectors)))

    async def query(
        self, name: str, filter: Optional[str] = None, limit: int = 100, output_fields: Union[str, Sequence[str], None] = "*",
        include_vectors: bool = False,
    ) -> List[StoredRecord]:
        return _wire.stored_records(await self._call(self._data.Query, _wire.query_request(name, filter, limit, output_fields, include_vectors)))

    async def count(self, name: str, filter: Optional[str] = None) -> int:
        return int((await self._call(self._data.Count, data_pb2.CountRequest(collection=name, filter=filter or ""))).count)

    async def delete(self, name: str, ids: Any = None, filter: Optional[str] = None) -> int:
        return int((await self._call(self._data.Delete, _wire.delete_request(name, ids, filter))).deleted)

    async def search(
        self, name: str, queries: Any, k: int = 10, filter: Optional[str] = None, nprobe: Optional[int] = None,
        output_fields: Union[str, Sequence[str], None] = None, include_vectors: bool = False, explain: bool = False,
        recall_target: Optional[float] = None,
    ) -> SearchResults:
        request = _wire.search_request(name, queries, k, filter, nprobe, recall_target, output_fields, include_vectors, explain)
        return _wire.search_results(await self._call(self._search.Search, request), request)

    def search_session(self) -> "AsyncSearchSession":
        return AsyncSearchSession(self)

    async def segments(self, name: str) -> List[SegmentInfo]:
        response = await self._call(self._admin.ListSegments, admin_pb2.ListSegmentsRequest(collection=name))
        return [_wire.segment_info(s) for s in response.segments]

    async def seal(self, name: str, wait: bool = False) -> List[SegmentInfo]:
        return [_wire.segment_info(s) for s in (await self._call(self._admin.SealSegments, _wire.segments_request(name, wait))).segments]

    async def compact(self, name: str, wait: bool = False) -> List[SegmentInfo]:
        return [_wire.segment_info(s) for s in (await self._call(self._admin.CompactSegments, _wire.segments_request(name, wait))).segments]

    async def stats(self) -> Dict[str, Any]:
        return _wire.stats(await self._call(self._admin.Stats, admin_pb2.StatsRequest()))

    async def backup(self, destination: str) -> Dict[str, Any]:
        response = await self._call(self._admin.Backup, admin_pb2.BackupRequest(destination=destination))
        return {"path": response.path, "collections": response.collections, "segment_files": response.segment_files, "bytes": response.bytes}

    async def health(self) -> bool:
        response = await self._call(self._admin.Health, admin_pb2.HealthRequest())
        return response.status == admin_pb2.HealthResponse.SERVING

    async def version(self) -> str:
        return (await self._call(self._admin.Version, admin_pb2.VersionRequest())).version


class AsyncSearchSession:
    """As :class:`quiver.SearchSession`, for ``async with``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._call = client._search.SearchStream(metadata=client._metadata)
        self._closed = False

    async def __aenter__(self) -> "AsyncSearchSession":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def search(
        self, name: str, queries: Any, k: int = 10, filter: Optional[str] = None, nprobe: Optional[int] = None,
        output_fields: Union[str, Sequence[str], None] = None, include_vectors: bool = False, explain: bool = False,
        recall_target: Optional[float] = None,
    ) -> SearchResults:
        if self._closed:
            raise QuiverError("the search session is closed", code="failedPrecondition", reason="sessionClosed")
        request = _wire.search_request(name, queries, k, filter, nprobe, recall_target, output_fields, include_vectors, explain)
        try:
            await self._call.write(request)
            response = await self._call.read()
        except grpc.RpcError as error:
            self._closed = True
            raise from_rpc_error(error) from None
        if response is grpc.aio.EOF:
            self._closed = True
            code = await self._call.code()
            if code != grpc.StatusCode.OK:
                raise from_status(code, await self._call.details(), await self._call.trailing_metadata())
            raise QuiverError("the server ended the search session", code="unavailable", reason="sessionClosed")
        return _wire.search_results(response, request)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                await self._call.done_writing()
                while await self._call.read() is not grpc.aio.EOF:
                    pass
            except grpc.RpcError:
                pass
