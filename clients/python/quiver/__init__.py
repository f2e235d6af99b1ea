"""Python client of the Quiver vector database.

>>> import quiver
>>> with quiver.Client("127.0.0.1:7733") as client:
...     client.create_collection("docs", dim=3, metric="cosine", fields={"title": "string"})

See docs/python.md for every method.
"""

from ._wire import CollectionInfo, FieldInfo, QueryHits, SearchResults, SegmentInfo, StoredRecord
from .aio import AsyncClient, AsyncSearchSession
from .client import Client, SearchSession
from .errors import (
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    InternalError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    QuiverError,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)

__version__ = "0.2.0"

__all__ = [
    "Client", "AsyncClient", "SearchSession", "AsyncSearchSession",
    "CollectionInfo", "FieldInfo", "SegmentInfo", "QueryHits", "SearchResults", "StoredRecord",
    "QuiverError", "InvalidArgument", "NotFound", "AlreadyExists", "FailedPrecondition", "Unauthenticated",
    "PermissionDenied", "ResourceExhausted", "Unavailable", "DeadlineExceeded", "Cancelled", "Unimplemented",
    "DataLoss", "InternalError",
]
