"""Errors of the serving layer and how every runtrack error reads to a client: an HTTP status and an RFC 9457
problem document (``application/problem+json``), which MCP tool errors carry as their text."""

from __future__ import annotations

import re
from typing import Any

from ..errors import ConfigurationError, NotFoundError, RateLimitError, RequestError, RuntrackError

__all__ = ["PROBLEM_TYPE", "ServeError", "http_status", "problem"]

#: prefix of every problem ``type``; the error class name follows in kebab case (``...:not-found-error``)
PROBLEM_TYPE = "urn:runtrack:problem:"


class ServeError(RuntrackError):
    """A request the server refuses before or instead of asking a platform; ``status`` is its HTTP status."""

    def __init__(self, message: str, *, status: int = 400, title: str = "Bad request", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status = status
        self.title = title


def http_status(exc: BaseException) -> int:
    """The status a client sees for ``exc``: its own mistakes are 4xx, a platform's failures 502."""
    if isinstance(exc, ServeError):
        return exc.status
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, RateLimitError):
        return 429
    if isinstance(exc, RequestError):
        code = exc.status_code or 400
        return code if 400 <= code < 500 and code not in (401, 403, 404, 429) else 400
    if isinstance(exc, ConfigurationError):
        return 400
    if isinstance(exc, RuntrackError):
        return 502  # the platform refused our credentials (AuthenticationError), failed, or answered garbage
    return 500


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem(exc: BaseException) -> dict[str, Any]:
    """The problem document for ``exc``: ``type``, ``title``, ``status``, ``detail`` and, where known, the error
    class, platform, vendor code, JSON path, ``retry_after`` and the ``cursor`` to resume from. Messages of
    runtrack errors are redacted where they are built; any other exception shows only its type."""
    status = http_status(exc)
    if isinstance(exc, RuntrackError):
        name = type(exc).__name__
        doc: dict[str, Any] = {
            "type": PROBLEM_TYPE
            + (_kebab(exc.title.title().replace(" ", "")) if isinstance(exc, ServeError) else _kebab(name)),
            "title": exc.title if isinstance(exc, ServeError) else _kebab(name).replace("-", " ").capitalize(),
            "status": status,
            "detail": str(exc),
            "error": name,
        }
        extra = {
            "platform": exc.platform,
            "vendor_code": exc.vendor_code,
            "upstream_status": exc.status_code,
            "path": getattr(exc, "path", None),
            "retry_after": getattr(exc, "retry_after", None),
            "cursor": exc.cursor,
        }
        doc.update({k: v for k, v in extra.items() if v is not None})
        return doc
    name = type(exc).__name__
    return {
        "type": PROBLEM_TYPE + "internal-error",
        "title": "Internal error",
        "status": status,
        "detail": f"internal error ({name}); the server logs the details at debug level",
        "error": name,
    }
