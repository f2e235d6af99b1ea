from quiver.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SearchParams(_message.Message):
    __slots__ = ("nprobe", "recall_target")
    NPROBE_FIELD_NUMBER: _ClassVar[int]
    RECALL_TARGET_FIELD_NUMBER: _ClassVar[int]
    nprobe: int
    recall_target: float
    def __init__(self, nprobe: _Optional[int] = ..., recall_target: _Optional[float] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("collection", "queries", "k", "filter", "params", "output_fields", "all_fields", "include_vectors", "explain")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELDS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELDS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_VECTORS_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    collection: str
    queries: bytes
    k: int
    filter: str
    params: SearchParams
    output_fields: _containers.RepeatedScalarFieldContainer[str]
    all_fields: bool
    include_vectors: bool
    explain: bool
    def __init__(self, collection: _Optional[str] = ..., queries: _Optional[bytes] = ..., k: _Optional[int] = ..., filter: _Optional[str] = ..., params: _Optional[_Union[SearchParams, _Mapping]] = ..., output_fields: _Optional[_Iterable[str]] = ..., all_fields: _Optional[bool] = ..., include_vectors: _Optional[bool] = ..., explain: _Optional[bool] = ...) -> None: ...

class QueryResult(_message.Message):
    __slots__ = ("ids", "scores", "hits")
    IDS_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[int]
    scores: _containers.RepeatedScalarFieldContainer[float]
    hits: _containers.RepeatedCompositeFieldContainer[Hit]
    def __init__(self, ids: _Optional[_Iterable[int]] = ..., scores: _Optional[_Iterable[float]] = ..., hits: _Optional[_Iterable[_Union[Hit, _Mapping]]] = ...) -> None: ...

class Hit(_message.Message):
    __slots__ = ("vector", "fields")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _types_pb2.FieldValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_types_pb2.FieldValue, _Mapping]] = ...) -> None: ...
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    vector: bytes
    fields: _containers.MessageMap[str, _types_pb2.FieldValue]
    def __init__(self, vector: _Optional[bytes] = ..., fields: _Optional[_Mapping[str, _types_pb2.FieldValue]] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("results", "explain")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[QueryResult]
    explain: SearchExplain
    def __init__(self, results: _Optional[_Iterable[_Union[QueryResult, _Mapping]]] = ..., explain: _Optional[_Union[SearchExplain, _Mapping]] = ...) -> None: ...

class SearchExplain(_message.Message):
    __slots__ = ("filter", "segments", "passing_rows", "exact_retries", "filter_micros", "recall_target", "nprobe_given")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    PASSING_ROWS_FIELD_NUMBER: _ClassVar[int]
    EXACT_RETRIES_FIELD_NUMBER: _ClassVar[int]
    FILTER_MICROS_FIELD_NUMBER: _ClassVar[int]
    RECALL_TARGET_FIELD_NUMBER: _ClassVar[int]
    NPROBE_GIVEN_FIELD_NUMBER: _ClassVar[int]
    filter: str
    segments: _containers.RepeatedCompositeFieldContainer[SegmentPlan]
    passing_rows: int
    exact_retries: int
    filter_micros: int
    recall_target: float
    nprobe_given: int
    def __init__(self, filter: _Optional[str] = ..., segments: _Optional[_Iterable[_Union[SegmentPlan, _Mapping]]] = ..., passing_rows: _Optional[int] = ..., exact_retries: _Optional[int] = ..., filter_micros: _Optional[int] = ..., recall_target: _Optional[float] = ..., nprobe_given: _Optional[int] = ...) -> None: ...

class SegmentPlan(_message.Message):
    __slots__ = ("segment", "phase", "live_rows", "passing_rows", "strategy", "nprobe", "nlist", "expected_recall", "calibration_queries", "lists_walked")
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    LIVE_ROWS_FIELD_NUMBER: _ClassVar[int]
    PASSING_ROWS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    NPROBE_FIELD_NUMBER: _ClassVar[int]
    NLIST_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_RECALL_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_QUERIES_FIELD_NUMBER: _ClassVar[int]
    LISTS_WALKED_FIELD_NUMBER: _ClassVar[int]
    segment: int
    phase: str
    live_rows: int
    passing_rows: int
    strategy: str
    nprobe: int
    nlist: int
    expected_recall: float
    calibration_queries: int
    lists_walked: float
    def __init__(self, segment: _Optional[int] = ..., phase: _Optional[str] = ..., live_rows: _Optional[int] = ..., passing_rows: _Optional[int] = ..., strategy: _Optional[str] = ..., nprobe: _Optional[int] = ..., nlist: _Optional[int] = ..., expected_recall: _Optional[float] = ..., calibration_queries: _Optional[int] = ..., lists_walked: _Optional[float] = ...) -> None: ...
