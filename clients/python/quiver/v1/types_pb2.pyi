from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Metric(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METRIC_UNSPECIFIED: _ClassVar[Metric]
    METRIC_L2: _ClassVar[Metric]
    METRIC_IP: _ClassVar[Metric]
    METRIC_COSINE: _ClassVar[Metric]

class FieldType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIELD_TYPE_UNSPECIFIED: _ClassVar[FieldType]
    FIELD_TYPE_INT64: _ClassVar[FieldType]
    FIELD_TYPE_DOUBLE: _ClassVar[FieldType]
    FIELD_TYPE_BOOL: _ClassVar[FieldType]
    FIELD_TYPE_STRING: _ClassVar[FieldType]
    FIELD_TYPE_TAGS: _ClassVar[FieldType]
METRIC_UNSPECIFIED: Metric
METRIC_L2: Metric
METRIC_IP: Metric
METRIC_COSINE: Metric
FIELD_TYPE_UNSPECIFIED: FieldType
FIELD_TYPE_INT64: FieldType
FIELD_TYPE_DOUBLE: FieldType
FIELD_TYPE_BOOL: FieldType
FIELD_TYPE_STRING: FieldType
FIELD_TYPE_TAGS: FieldType

class FieldSchema(_message.Message):
    __slots__ = ("name", "type", "required")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: FieldType
    required: bool
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[FieldType, str]] = ..., required: _Optional[bool] = ...) -> None: ...

class IndexSettings(_message.Message):
    __slots__ = ("codes", "nlist", "nprobe", "segment_rows", "seal_after_seconds", "compress_files", "recall_target")
    CODES_FIELD_NUMBER: _ClassVar[int]
    NLIST_FIELD_NUMBER: _ClassVar[int]
    NPROBE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ROWS_FIELD_NUMBER: _ClassVar[int]
    SEAL_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COMPRESS_FILES_FIELD_NUMBER: _ClassVar[int]
    RECALL_TARGET_FIELD_NUMBER: _ClassVar[int]
    codes: str
    nlist: int
    nprobe: int
    segment_rows: int
    seal_after_seconds: int
    compress_files: bool
    recall_target: float
    def __init__(self, codes: _Optional[str] = ..., nlist: _Optional[int] = ..., nprobe: _Optional[int] = ..., segment_rows: _Optional[int] = ..., seal_after_seconds: _Optional[int] = ..., compress_files: _Optional[bool] = ..., recall_target: _Optional[float] = ...) -> None: ...

class CollectionSchema(_message.Message):
    __slots__ = ("name", "dimension", "metric", "fields", "index")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    name: str
    dimension: int
    metric: Metric
    fields: _containers.RepeatedCompositeFieldContainer[FieldSchema]
    index: IndexSettings
    def __init__(self, name: _Optional[str] = ..., dimension: _Optional[int] = ..., metric: _Optional[_Union[Metric, str]] = ..., fields: _Optional[_Iterable[_Union[FieldSchema, _Mapping]]] = ..., index: _Optional[_Union[IndexSettings, _Mapping]] = ...) -> None: ...

class SegmentInfo(_message.Message):
    __slots__ = ("id", "phase", "rows", "deleted_rows", "memory_bytes", "codes", "nlist", "created_at_ms", "indexed_at_ms", "build_ms", "disk_bytes")
    ID_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    DELETED_ROWS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    CODES_FIELD_NUMBER: _ClassVar[int]
    NLIST_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    INDEXED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    BUILD_MS_FIELD_NUMBER: _ClassVar[int]
    DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    id: int
    phase: str
    rows: int
    deleted_rows: int
    memory_bytes: int
    codes: str
    nlist: int
    created_at_ms: int
    indexed_at_ms: int
    build_ms: int
    disk_bytes: int
    def __init__(self, id: _Optional[int] = ..., phase: _Optional[str] = ..., rows: _Optional[int] = ..., deleted_rows: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., codes: _Optional[str] = ..., nlist: _Optional[int] = ..., created_at_ms: _Optional[int] = ..., indexed_at_ms: _Optional[int] = ..., build_ms: _Optional[int] = ..., disk_bytes: _Optional[int] = ...) -> None: ...

class CollectionInfo(_message.Message):
    __slots__ = ("schema", "rows", "memory_bytes", "created_at_ms", "segments", "pending", "nlist")
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    NLIST_FIELD_NUMBER: _ClassVar[int]
    schema: CollectionSchema
    rows: int
    memory_bytes: int
    created_at_ms: int
    segments: _containers.RepeatedCompositeFieldContainer[SegmentInfo]
    pending: bool
    nlist: int
    def __init__(self, schema: _Optional[_Union[CollectionSchema, _Mapping]] = ..., rows: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., created_at_ms: _Optional[int] = ..., segments: _Optional[_Iterable[_Union[SegmentInfo, _Mapping]]] = ..., pending: _Optional[bool] = ..., nlist: _Optional[int] = ...) -> None: ...

class TagList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class FieldValue(_message.Message):
    __slots__ = ("int64_value", "double_value", "bool_value", "string_value", "tags_value")
    INT64_VALUE_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    TAGS_VALUE_FIELD_NUMBER: _ClassVar[int]
    int64_value: int
    double_value: float
    bool_value: bool
    string_value: str
    tags_value: TagList
    def __init__(self, int64_value: _Optional[int] = ..., double_value: _Optional[float] = ..., bool_value: _Optional[bool] = ..., string_value: _Optional[str] = ..., tags_value: _Optional[_Union[TagList, _Mapping]] = ...) -> None: ...

class Record(_message.Message):
    __slots__ = ("id", "vector", "fields")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FieldValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FieldValue, _Mapping]] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    id: int
    vector: bytes
    fields: _containers.MessageMap[str, FieldValue]
    def __init__(self, id: _Optional[int] = ..., vector: _Optional[bytes] = ..., fields: _Optional[_Mapping[str, FieldValue]] = ...) -> None: ...
