from quiver.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReloadCredentialsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadCredentialsResponse(_message.Message):
    __slots__ = ("reloaded", "keys", "tls")
    RELOADED_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    TLS_FIELD_NUMBER: _ClassVar[int]
    reloaded: str
    keys: int
    tls: bool
    def __init__(self, reloaded: _Optional[str] = ..., keys: _Optional[int] = ..., tls: _Optional[bool] = ...) -> None: ...

class BackupRequest(_message.Message):
    __slots__ = ("destination",)
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    destination: str
    def __init__(self, destination: _Optional[str] = ...) -> None: ...

class BackupResponse(_message.Message):
    __slots__ = ("path", "collections", "segment_files", "bytes")
    PATH_FIELD_NUMBER: _ClassVar[int]
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FILES_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    path: str
    collections: int
    segment_files: int
    bytes: int
    def __init__(self, path: _Optional[str] = ..., collections: _Optional[int] = ..., segment_files: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...

class ListSegmentsRequest(_message.Message):
    __slots__ = ("collection",)
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    collection: str
    def __init__(self, collection: _Optional[str] = ...) -> None: ...

class ListSegmentsResponse(_message.Message):
    __slots__ = ("segments", "pending")
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[_types_pb2.SegmentInfo]
    pending: bool
    def __init__(self, segments: _Optional[_Iterable[_Union[_types_pb2.SegmentInfo, _Mapping]]] = ..., pending: _Optional[bool] = ...) -> None: ...

class ShowSegmentRequest(_message.Message):
    __slots__ = ("collection", "segment", "check_recall")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    CHECK_RECALL_FIELD_NUMBER: _ClassVar[int]
    collection: str
    segment: int
    check_recall: int
    def __init__(self, collection: _Optional[str] = ..., segment: _Optional[int] = ..., check_recall: _Optional[int] = ...) -> None: ...

class ShowSegmentResponse(_message.Message):
    __slots__ = ("info", "tombstone_ratio", "indexed", "lists", "empty_lists", "smallest_list", "largest_list", "mean_list", "imbalance", "variation", "recall_checked", "recall_queries", "recall_k", "recall_nprobe", "recall")
    INFO_FIELD_NUMBER: _ClassVar[int]
    TOMBSTONE_RATIO_FIELD_NUMBER: _ClassVar[int]
    INDEXED_FIELD_NUMBER: _ClassVar[int]
    LISTS_FIELD_NUMBER: _ClassVar[int]
    EMPTY_LISTS_FIELD_NUMBER: _ClassVar[int]
    SMALLEST_LIST_FIELD_NUMBER: _ClassVar[int]
    LARGEST_LIST_FIELD_NUMBER: _ClassVar[int]
    MEAN_LIST_FIELD_NUMBER: _ClassVar[int]
    IMBALANCE_FIELD_NUMBER: _ClassVar[int]
    VARIATION_FIELD_NUMBER: _ClassVar[int]
    RECALL_CHECKED_FIELD_NUMBER: _ClassVar[int]
    RECALL_QUERIES_FIELD_NUMBER: _ClassVar[int]
    RECALL_K_FIELD_NUMBER: _ClassVar[int]
    RECALL_NPROBE_FIELD_NUMBER: _ClassVar[int]
    RECALL_FIELD_NUMBER: _ClassVar[int]
    info: _types_pb2.SegmentInfo
    tombstone_ratio: float
    indexed: bool
    lists: int
    empty_lists: int
    smallest_list: int
    largest_list: int
    mean_list: float
    imbalance: float
    variation: float
    recall_checked: bool
    recall_queries: int
    recall_k: int
    recall_nprobe: int
    recall: float
    def __init__(self, info: _Optional[_Union[_types_pb2.SegmentInfo, _Mapping]] = ..., tombstone_ratio: _Optional[float] = ..., indexed: _Optional[bool] = ..., lists: _Optional[int] = ..., empty_lists: _Optional[int] = ..., smallest_list: _Optional[int] = ..., largest_list: _Optional[int] = ..., mean_list: _Optional[float] = ..., imbalance: _Optional[float] = ..., variation: _Optional[float] = ..., recall_checked: _Optional[bool] = ..., recall_queries: _Optional[int] = ..., recall_k: _Optional[int] = ..., recall_nprobe: _Optional[int] = ..., recall: _Optional[float] = ...) -> None: ...

class SegmentsRequest(_message.Message):
    __slots__ = ("collection", "segment", "wait")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    collection: str
    segment: int
    wait: bool
    def __init__(self, collection: _Optional[str] = ..., segment: _Optional[int] = ..., wait: _Optional[bool] = ...) -> None: ...

class SegmentsResponse(_message.Message):
    __slots__ = ("segments", "pending")
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[_types_pb2.SegmentInfo]
    pending: bool
    def __init__(self, segments: _Optional[_Iterable[_Union[_types_pb2.SegmentInfo, _Mapping]]] = ..., pending: _Optional[bool] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HealthResponse(_message.Message):
    __slots__ = ("status",)
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[HealthResponse.Status]
        SERVING: _ClassVar[HealthResponse.Status]
        NOT_SERVING: _ClassVar[HealthResponse.Status]
    STATUS_UNSPECIFIED: HealthResponse.Status
    SERVING: HealthResponse.Status
    NOT_SERVING: HealthResponse.Status
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: HealthResponse.Status
    def __init__(self, status: _Optional[_Union[HealthResponse.Status, str]] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CollectionStats(_message.Message):
    __slots__ = ("name", "rows", "memory_bytes", "segments", "disk_bytes")
    class SegmentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    rows: int
    memory_bytes: int
    segments: _containers.ScalarMap[str, int]
    disk_bytes: int
    def __init__(self, name: _Optional[str] = ..., rows: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., segments: _Optional[_Mapping[str, int]] = ..., disk_bytes: _Optional[int] = ...) -> None: ...

class StatsResponse(_message.Message):
    __slots__ = ("collections", "disk_bytes", "commit_groups", "committed_ops", "wal_syncs", "uptime_seconds", "sync_policy", "seals", "index_builds", "template_trainings", "compactions", "maintenance_failures")
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    COMMIT_GROUPS_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_OPS_FIELD_NUMBER: _ClassVar[int]
    WAL_SYNCS_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SYNC_POLICY_FIELD_NUMBER: _ClassVar[int]
    SEALS_FIELD_NUMBER: _ClassVar[int]
    INDEX_BUILDS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_TRAININGS_FIELD_NUMBER: _ClassVar[int]
    COMPACTIONS_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    collections: _containers.RepeatedCompositeFieldContainer[CollectionStats]
    disk_bytes: int
    commit_groups: int
    committed_ops: int
    wal_syncs: int
    uptime_seconds: int
    sync_policy: str
    seals: int
    index_builds: int
    template_trainings: int
    compactions: int
    maintenance_failures: int
    def __init__(self, collections: _Optional[_Iterable[_Union[CollectionStats, _Mapping]]] = ..., disk_bytes: _Optional[int] = ..., commit_groups: _Optional[int] = ..., committed_ops: _Optional[int] = ..., wal_syncs: _Optional[int] = ..., uptime_seconds: _Optional[int] = ..., sync_policy: _Optional[str] = ..., seals: _Optional[int] = ..., index_builds: _Optional[int] = ..., template_trainings: _Optional[int] = ..., compactions: _Optional[int] = ..., maintenance_failures: _Optional[int] = ...) -> None: ...

class VersionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VersionResponse(_message.Message):
    __slots__ = ("version", "protocol")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    version: str
    protocol: str
    def __init__(self, version: _Optional[str] = ..., protocol: _Optional[str] = ...) -> None: ...
