"""The one error shape: an exception hierarchy mapped in one place to DESIGN.md's error table.

Handlers raise these; only the dispatcher turns them into JSON-RPC error objects. Any other
exception is a bug: it is logged with its traceback and answered as INTERNAL_ERROR without internals.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar


class RpcError(Exception):
    """A failure the client is told about. `details` are merged into `error.data`."""

    code_name: ClassVar[str] = "INTERNAL_ERROR"
    rpc_code: ClassVar[int] = -32603
    default_message: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class ParseError(RpcError):
    code_name, rpc_code, default_message = "PARSE_ERROR", -32700, "Parse error"


class InvalidRequest(RpcError):
    code_name, rpc_code, default_message = "INVALID_REQUEST", -32600, "Invalid Request"


class MethodNotFound(RpcError):
    code_name, rpc_code, default_message = "METHOD_NOT_FOUND", -32601, "Method not found"


class InvalidParams(RpcError):
    code_name, rpc_code, default_message = "INVALID_PARAMS", -32602, "Invalid params"


class InternalError(RpcError):
    pass


class NotFound(RpcError):
    code_name, rpc_code, default_message = "NOT_FOUND", -32001, "Not found"


class InvalidPath(RpcError):
    code_name, rpc_code, default_message = "INVALID_PATH", -32002, "Invalid path"


class Conflict(RpcError):
    code_name, rpc_code, default_message = "CONFLICT", -32003, "Conflict"


class RateLimited(RpcError):
    code_name, rpc_code, default_message = "RATE_LIMITED", -32004, "Rate limited"


class Unavailable(RpcError):
    code_name, rpc_code, default_message = "UNAVAILABLE", -32005, "Unavailable"


class Timeout(RpcError):
    code_name, rpc_code, default_message = "TIMEOUT", -32006, "Timed out"


class TooLarge(RpcError):
    code_name, rpc_code, default_message = "TOO_LARGE", -32007, "Too large"


class Unsupported(RpcError):
    code_name, rpc_code, default_message = "UNSUPPORTED", -32008, "Unsupported"


ERROR_CLASSES: tuple[type[RpcError], ...] = (
    ParseError,
    InvalidRequest,
    MethodNotFound,
    InvalidParams,
    InternalError,
    NotFound,
    InvalidPath,
    Conflict,
    RateLimited,
    Unavailable,
    Timeout,
    TooLarge,
    Unsupported,
)
ERRORS_BY_NAME: dict[str, type[RpcError]] = {cls.code_name: cls for cls in ERROR_CLASSES}


def utc_timestamp() -> str:
    """ISO 8601 UTC with milliseconds, as every error's `data.timestamp` carries it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_object(exc: RpcError, method: str | None, request_id: str) -> dict[str, Any]:
    """The JSON-RPC `error` member for `exc`: the single place the error shape is built."""
    data: dict[str, Any] = {
        "code": exc.code_name,
        "timestamp": utc_timestamp(),
        "method": method,
        "request_id": request_id,
    }
    data.update(exc.details)
    return {"code": exc.rpc_code, "message": exc.message, "data": data}
