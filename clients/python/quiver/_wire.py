"""Python values to and from quiver.v1 messages: shared by the sync and asyncio clients.

Upserts go as columns (``RecordColumns``, docs/protocol.md "Columnar upsert"): ids, vectors and
numeric columns are numpy arrays written out with ``tobytes()``, so no message is built per
record.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from google.protobuf.json_format import MessageToDict

from .errors import InvalidArgument
from .v1 import admin_pb2, data_pb2, search_pb2, types_pb2

_METRICS = {"l2": types_pb2.METRIC_L2, "ip": types_pb2.METRIC_IP, "cosine": types_pb2.METRIC_COSINE}
_METRIC_NAMES = {value: name for name, value in _METRICS.items()}
_TYPES = {
    "int64": types_pb2.FIELD_TYPE_INT64,
    "double": types_pb2.FIELD_TYPE_DOUBLE,
    "bool": types_pb2.FIELD_TYPE_BOOL,
    "string": types_pb2.FIELD_TYPE_STRING,
    "tags": types_pb2.FIELD_TYPE_TAGS,
}
_TYPE_NAMES = {value: name for name, value in _TYPES.items()}

# The server's limit on records per batch, and the share of the message limit a batch may use.
BATCH_ROWS_MAX = 100_000
DEFAULT_MESSAGE_BYTES = 64 << 20


def _invalid(message: str, *, field: Optional[str] = None, value: Any = None, collection: Optional[str] = None) -> InvalidArgument:
    return InvalidArgument(
        message, code="invalidArgument", reason="malformedRequest", collection=collection, field=field,
        value=None if value is None else str(value),
    )


# MARK: Schemas and collections


@dataclass
class FieldInfo:
    """A field of a collection's schema."""

    name: str
    type: str
    required: bool = False


@dataclass
class SegmentInfo:
    """A segment as ``segments`` and ``describe_collection`` report it."""

    id: int
    phase: str
    rows: int
    deleted_rows: int
    memory_bytes: int
    codes: str
    nlist: int
    disk_bytes: int


@dataclass
class CollectionInfo:
    """What ``describe_collection`` and ``list_collections`` return."""

    name: str
    dim: int
    metric: str
    fields: List[FieldInfo]
    rows: int
    memory_bytes: int
    pending: bool
    nlist: int
    segments: List[SegmentInfo]
    index: Dict[str, Any] = dataclass_field(default_factory=dict)


def schema(name: str, dim: int, metric: str, fields: Optional[Mapping[str, Union[str, Tuple[str, bool]]]], index: Optional[Mapping[str, Any]]) -> types_pb2.CollectionSchema:
    if metric not in _METRICS:
        raise _invalid(f"metric must be one of {sorted(_METRICS)}, not {metric!r}", field="metric", value=metric)
    message = types_pb2.CollectionSchema(name=name, dimension=int(dim), metric=_METRICS[metric])
    for field_name, spec in (fields or {}).items():
        type_name, required = (spec, False) if isinstance(spec, str) else (spec[0], bool(spec[1]))
        if type_name.endswith(":required"):
            type_name, required = type_name[: -len(":required")], True
        if type_name not in _TYPES:
            raise _invalid(f"field {field_name!r}: type must be one of {sorted(_TYPES)}, not {type_name!r}", field=field_name, value=type_name)
        message.fields.append(types_pb2.FieldSchema(name=field_name, type=_TYPES[type_name], required=required))
    if index:
        known = {"codes", "nlist", "nprobe", "segment_rows", "seal_after_seconds", "compress_files", "recall_target"}
        unknown = set(index) - known
        if unknown:
            raise _invalid(f"index settings {sorted(unknown)} are not among {sorted(known)}", field="index", value=sorted(unknown)[0])
        message.index.CopyFrom(types_pb2.IndexSettings(**index))
    return message


def segment_info(message: types_pb2.SegmentInfo) -> SegmentInfo:
    return SegmentInfo(
        id=message.id, phase=message.phase, rows=message.rows, deleted_rows=message.deleted_rows,
        memory_bytes=message.memory_bytes, codes=message.codes, nlist=message.nlist, disk_bytes=message.disk_bytes,
    )


def collection_info(message: types_pb2.CollectionInfo) -> CollectionInfo:
    s = message.schema
    index = {key: getattr(s.index, key) for key in ("codes", "nlist", "nprobe", "segment_rows", "seal_after_seconds", "compress_files", "recall_target")}
    return CollectionInfo(
        name=s.name, dim=s.dimension, metric=_METRIC_NAMES.get(s.metric, "unspecified"),
        fields=[FieldInfo(f.name, _TYPE_NAMES.get(f.type, "unspecified"), f.required) for f in s.fields],
        rows=message.rows, memory_bytes=message.memory_bytes, pending=message.pending, nlist=message.nlist,
        segments=[segment_info(segment) for segment in message.segments], index=index,
    )


# MARK: Field values


def field_value(message: types_pb2.FieldValue) -> Any:
    kind = message.WhichOneof("kind")
    if kind is None:
        return None
    if kind == "tags_value":
        return list(message.tags_value.values)
    return getattr(message, kind)


def field_values(fields: Mapping[str, types_pb2.FieldValue]) -> Dict[str, Any]:
    return {name: field_value(value) for name, value in fields.items()}


# MARK: Vectors


_FLOAT32 = np.dtype("<f4")


def vectors_array(vectors: Any, *, what: str = "vectors") -> np.ndarray:
    """A C-contiguous little-endian float32 ``[n, d]`` array; one vector becomes ``[1, d]``."""
    # The common case, checked first: a search costs a few microseconds of Python in all.
    if isinstance(vectors, np.ndarray) and vectors.dtype == _FLOAT32 and vectors.flags.c_contiguous and vectors.ndim in (1, 2):
        return vectors.reshape(1, -1) if vectors.ndim == 1 else vectors
    try:
        array = np.asarray(vectors)
    except (TypeError, ValueError) as error:
        raise _invalid(f"{what} must be an array of numbers: {error}", field="vector") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise _invalid(f"{what} must be numbers, not {array.dtype}", field="vector", value=array.dtype)
    if np.issubdtype(array.dtype, np.complexfloating):
        raise _invalid(f"{what} must be real numbers, not {array.dtype}", field="vector", value=array.dtype)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise _invalid(f"{what} must be one vector or an [n, d] array, not {array.ndim}-dimensional", field="vector", value=array.shape)
    return np.ascontiguousarray(array, dtype="<f4")


def unpack_vector(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4").copy()


# MARK: Columns


def _ids_array(ids: Any) -> np.ndarray:
    array = np.asarray(ids)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise _invalid("ids must be a flat sequence", field="id")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise _invalid(f"ids must be integers, not {array.dtype}", field="id", value=array.dtype)
    if array.size and np.issubdtype(array.dtype, np.signedinteger) and array.min() < 0:
        raise _invalid(f"ids are unsigned 64-bit integers; got {int(array.min())}", field="id", value=int(array.min()))
    return np.ascontiguousarray(array, dtype="<u8")


def distinct(ids: np.ndarray) -> bool:
    """Whether no id appears twice (batches of such a load may commit in any order)."""
    return np.unique(ids).shape[0] == ids.shape[0]


def _column(name: str, values: Any, rows: int) -> data_pb2.FieldColumn:
    """One field's column: numbers packed, strings and tags as lists, ``None`` as null."""
    column = data_pb2.FieldColumn()
    if isinstance(values, np.ndarray) and values.dtype != object:
        if values.shape != (rows,):
            raise _invalid(f"field {name!r}: {values.shape[0] if values.ndim else 0} values for {rows} rows", field=name, value=values.shape)
        if values.dtype == np.bool_:
            column.bool_values = values.astype(np.uint8).tobytes()
        elif np.issubdtype(values.dtype, np.integer):
            column.int64_values = values.astype("<i8").tobytes()
        elif np.issubdtype(values.dtype, np.floating):
            column.double_values = values.astype("<f8").tobytes()
        elif values.dtype.kind in "US":
            column.string_values.values.extend(str(v) for v in values.tolist())
        else:
            raise _invalid(f"field {name!r}: unsupported array type {values.dtype}", field=name, value=values.dtype)
        return column
    values = list(values)
    if len(values) != rows:
        raise _invalid(f"field {name!r}: {len(values)} values for {rows} rows", field=name, value=len(values))
    nulls = bytes(1 if v is None else 0 for v in values)
    present = [v for v in values if v is not None]
    if len(present) < rows:
        column.nulls = nulls
    if not present:
        return column
    # The column's type is its values' type; one column holds one type (a double field also
    # takes ints, which are sent as doubles when the column mixes them).
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        column.bool_values = bytes(1 if v else 0 for v in (False if v is None else v for v in values))
    elif all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in present):
        column.int64_values = np.array([0 if v is None else v for v in values], dtype="<i8").tobytes()
    elif all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in present):
        column.double_values = np.array([0.0 if v is None else v for v in values], dtype="<f8").tobytes()
    elif all(isinstance(v, str) for v in present):
        column.string_values.values.extend("" if v is None else v for v in values)
    elif all(isinstance(v, (list, tuple)) and all(isinstance(t, str) for t in v) for v in present):
        for v in values:
            column.tags_values.values.add().values.extend(() if v is None else v)
    else:
        kinds = sorted({type(v).__name__ for v in present})
        raise _invalid(f"field {name!r}: values must be all ints, floats, bools, strings or lists of strings, got {kinds}", field=name, value=kinds)
    return column


def _fields_from_rows(fields: Sequence[Optional[Mapping[str, Any]]], rows: int) -> Dict[str, List[Any]]:
    if len(fields) != rows:
        raise _invalid(f"{len(fields)} field dicts for {rows} rows", field="fields", value=len(fields))
    names: Dict[str, None] = {}
    for row in fields:
        for name in row or ():
            names[name] = None
    return {name: [(row or {}).get(name) for row in fields] for name in names}


def columns(ids: Any, vectors: Any, fields: Any) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    """Checks and normalizes an upsert's arguments: (ids, vectors, columns by field)."""
    id_array = _ids_array(ids)
    vector_array = vectors_array(vectors)
    rows = id_array.shape[0]
    if vector_array.shape[0] != rows:
        raise _invalid(f"{rows} ids but {vector_array.shape[0]} vectors", field="vector", value=vector_array.shape[0])
    if fields is None:
        by_field: Dict[str, Any] = {}
    elif isinstance(fields, Mapping):
        by_field = dict(fields)
    else:
        by_field = _fields_from_rows(list(fields), rows)
    return id_array, vector_array, by_field


def upsert_requests(collection: str, ids: np.ndarray, vectors: np.ndarray, fields: Mapping[str, Any], batch_rows: int) -> Iterator[data_pb2.UpsertRequest]:
    """One request per batch of at most ``batch_rows`` rows."""
    rows = ids.shape[0]
    for start in range(0, rows, batch_rows):
        stop = min(rows, start + batch_rows)
        request = data_pb2.UpsertRequest(collection=collection)
        request.columns.rows = stop - start
        request.columns.ids = ids[start:stop].tobytes()
        request.columns.vectors = vectors[start:stop].tobytes()
        for name, values in fields.items():
            request.columns.fields[name].CopyFrom(_column(name, values[start:stop], stop - start))
        yield request


def batch_rows(rows: int, dim: int, fields: Mapping[str, Any], message_bytes: int, requested: Optional[int]) -> int:
    """Rows per request: as asked, else as many as fit in half the message limit."""
    if requested is not None:
        if not 1 <= requested <= BATCH_ROWS_MAX:
            raise _invalid(f"batch_size must be 1–{BATCH_ROWS_MAX}, not {requested}", field="batch_size", value=requested)
        return requested
    # ids, vectors, 8 bytes per numeric field value; strings and tags are guessed at 64 bytes.
    per_row = 8 + dim * 4 + 64 * max(1, len(fields))
    return max(1, min(BATCH_ROWS_MAX, (message_bytes // 2) // per_row))


# MARK: Search


@dataclass
class QueryHits:
    """The hits of one query, best first: ``ids`` (uint64) and ``scores`` (float32) arrays,
    parallel; ``fields`` (one dict per hit) and ``vectors`` (``[hits, d]`` float32) when asked.
    ``scores`` are squared L2 distances for ``l2`` (smaller is better), similarities otherwise."""

    ids: np.ndarray
    scores: np.ndarray
    fields: Optional[List[Dict[str, Any]]] = None
    vectors: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(self.ids.shape[0])


class SearchResults(list):
    """One :class:`QueryHits` per query, in query order; ``explain`` holds the plan when asked."""

    explain: Optional[Dict[str, Any]] = None


def search_request(
    collection: str, queries: Any, k: int, filter: Optional[str], nprobe: Optional[int], recall_target: Optional[float],
    output_fields: Optional[Iterable[str]], include_vectors: bool, explain: bool,
) -> search_pb2.SearchRequest:
    array = vectors_array(queries, what="queries")
    request = search_pb2.SearchRequest(
        collection=collection, queries=array.tobytes(), k=int(k), filter=filter or "", include_vectors=include_vectors, explain=explain,
    )
    if nprobe is not None:
        request.params.nprobe = int(nprobe)
    if recall_target is not None:
        request.params.recall_target = float(recall_target)
    if output_fields == "*":
        request.all_fields = True
    elif output_fields:
        request.output_fields.extend(output_fields)
    return request


def _explain(message: search_pb2.SearchExplain) -> Dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def search_results(response: search_pb2.SearchResponse, request: search_pb2.SearchRequest) -> SearchResults:
    results = SearchResults()
    wants_fields = request.all_fields or len(request.output_fields) > 0
    for result in response.results:
        count = len(result.ids)
        hits = QueryHits(
            ids=np.fromiter(result.ids, dtype=np.uint64, count=count), scores=np.fromiter(result.scores, dtype=np.float32, count=count))
        if wants_fields:
            hits.fields = [field_values(hit.fields) for hit in result.hits]
        if request.include_vectors:
            hits.vectors = np.stack([unpack_vector(hit.vector) for hit in result.hits]) if len(result.hits) else np.zeros((0, 0), np.float32)
        results.append(hits)
    if request.explain and response.HasField("explain"):
        results.explain = _explain(response.explain)
    return results


# MARK: Records read back


@dataclass
class StoredRecord:
    """A record as ``get`` and ``query`` return it."""

    id: int
    vector: Optional[np.ndarray]
    fields: Dict[str, Any]


def stored_records(response: data_pb2.GetResponse) -> List[StoredRecord]:
    return [
        StoredRecord(id=r.id, vector=unpack_vector(r.vector) if r.vector else None, fields=field_values(r.fields))
        for r in response.records
    ]


def get_request(collection: str, ids: Any, output_fields: Any, include_vectors: bool) -> data_pb2.GetRequest:
    request = data_pb2.GetRequest(collection=collection, ids=[int(i) for i in _ids_array(ids)], include_vectors=include_vectors)
    _output(request, output_fields)
    return request


def _output(request: Any, output_fields: Any) -> None:
    if output_fields == "*" or output_fields is None:
        request.all_fields = True
    else:
        request.output_fields.extend(output_fields)


def query_request(collection: str, filter: Optional[str], limit: int, output_fields: Any, include_vectors: bool) -> data_pb2.QueryRequest:
    request = data_pb2.QueryRequest(collection=collection, filter=filter or "", limit=int(limit), include_vectors=include_vectors)
    _output(request, output_fields)
    return request


def delete_request(collection: str, ids: Any, filter: Optional[str]) -> data_pb2.DeleteRequest:
    if (ids is None) == (filter is None):
        raise _invalid("delete takes ids or a filter (one of them)", field="filter", collection=collection)
    if ids is not None:
        return data_pb2.DeleteRequest(collection=collection, ids=[int(i) for i in _ids_array(ids)])
    return data_pb2.DeleteRequest(collection=collection, filter=filter)


def segments_request(collection: str, wait: bool) -> admin_pb2.SegmentsRequest:
    return admin_pb2.SegmentsRequest(collection=collection, wait=wait)


def stats(response: admin_pb2.StatsResponse) -> Dict[str, Any]:
    return MessageToDict(response, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


__all__ = ["CollectionInfo", "FieldInfo", "SegmentInfo", "QueryHits", "SearchResults", "StoredRecord"]
