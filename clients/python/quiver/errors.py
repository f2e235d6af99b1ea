"""Quiver's errors as Python exceptions.

The server sends every error as a gRPC status plus trailing metadata (docs/protocol.md,
"Errors"): ``quiver-code``, ``quiver-reason`` and the binary ``quiver-collection-bin``,
``quiver-field-bin`` and ``quiver-value-bin``. :func:`from_rpc_error` turns one into the
exception of its code, so callers never see a bare ``grpc.RpcError``.
"""

from __future__ import annotations

from typing import Optional

import grpc

__all__ = [
    "QuiverError",
    "InvalidArgument",
    "NotFound",
    "AlreadyExists",
    "FailedPrecondition",
    "Unauthenticated",
    "PermissionDenied",
    "ResourceExhausted",
    "Unavailable",
    "DeadlineExceeded",
    "Cancelled",
    "Unimplemented",
    "DataLoss",
    "InternalError",
    "from_rpc_error",
]


class QuiverError(Exception):
    """An error from the server (or from reaching it).

    Attributes:
        message: the server's sentence, naming the collection, field and value.
        code: Quiver's code (``"invalidArgument"``, ``"notFound"``, …).
        reason: the precise cause (``"dimensionMismatch"``, ``"collectionNotFound"``, …), or
            ``"unknown"`` for an error that did not come from a Quiver server.
        collection, field, value: the offending collection, field and value, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "internal",
        reason: str = "unknown",
        collection: Optional[str] = None,
        field: Optional[str] = None,
        value: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.collection = collection
        self.field = field
        self.value = value

    def __str__(self) -> str:
        return f"{self.message} [{self.code}/{self.reason}]"


class InvalidArgument(QuiverError):
    """The request is wrong (a bad vector, field, filter or limit): fix it, do not retry."""


class NotFound(QuiverError):
    """The collection (or segment) does not exist, or the key may not see it."""


class AlreadyExists(QuiverError):
    """A collection of that name exists."""


class FailedPrecondition(QuiverError):
    """The server is not in a state that allows the call (a segment that is not indexed, …)."""


class Unauthenticated(QuiverError):
    """No API key, or one the server does not know."""


class PermissionDenied(QuiverError):
    """The key's role or scope does not allow the call."""


class ResourceExhausted(QuiverError):
    """A size limit (message, result) or a full disk."""


class Unavailable(QuiverError):
    """The server cannot be reached or is shutting down: retry later."""


class DeadlineExceeded(QuiverError):
    """The call's timeout passed."""


class Cancelled(QuiverError):
    """The call was cancelled."""


class Unimplemented(QuiverError):
    """The server does not have this method (it is older than the client)."""


class DataLoss(QuiverError):
    """The server found corrupt data."""


class InternalError(QuiverError):
    """A failure inside the server (an I/O error, a bug)."""


_BY_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.DATA_LOSS: DataLoss,
}

# Quiver's code for a status that carried none (a transport error).
_CODE_OF_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: "invalidArgument",
    grpc.StatusCode.NOT_FOUND: "notFound",
    grpc.StatusCode.ALREADY_EXISTS: "alreadyExists",
    grpc.StatusCode.FAILED_PRECONDITION: "failedPrecondition",
    grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
    grpc.StatusCode.PERMISSION_DENIED: "permissionDenied",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "resourceExhausted",
    grpc.StatusCode.UNAVAILABLE: "unavailable",
    grpc.StatusCode.DEADLINE_EXCEEDED: "deadlineExceeded",
    grpc.StatusCode.CANCELLED: "cancelled",
    grpc.StatusCode.UNIMPLEMENTED: "unimplemented",
    grpc.StatusCode.DATA_LOSS: "corruption",
}


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def from_status(code: grpc.StatusCode, details: Optional[str], trailers) -> QuiverError:
    """The exception for a status code, its details and its trailing metadata."""
    metadata = {key: value for key, value in (trailers or ())}
    cls = _BY_STATUS.get(code, InternalError)
    return cls(
        details or code.name,
        code=_text(metadata.get("quiver-code", _CODE_OF_STATUS.get(code, "internal"))),
        reason=_text(metadata.get("quiver-reason", "unknown")),
        collection=_text(metadata["quiver-collection-bin"]) if "quiver-collection-bin" in metadata else None,
        field=_text(metadata["quiver-field-bin"]) if "quiver-field-bin" in metadata else None,
        value=_text(metadata["quiver-value-bin"]) if "quiver-value-bin" in metadata else None,
    )


def from_rpc_error(error: grpc.RpcError) -> QuiverError:
    """The exception for a failed call of the sync or the asyncio API."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    return from_status(code, details, trailers)
