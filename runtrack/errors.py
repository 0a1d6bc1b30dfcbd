"""The exception hierarchy: every error runtrack raises is a :class:`RuntrackError`.

Each error carries where it came from (``platform``, ``status_code``, ``vendor_code``, ``request_id``) and, when
a listing was interrupted, the ``cursor`` to resume from. Messages never contain secrets: the transport redacts
them before an error is built.
"""

from __future__ import annotations

from ._redact import redact

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "DriftError",
    "NetworkError",
    "NotFoundError",
    "PaginationError",
    "PayloadError",
    "RateLimitError",
    "RequestError",
    "RuntrackError",
    "ServerError",
]


class RuntrackError(Exception):
    """Base class of every runtrack error."""

    def __init__(
        self,
        message: str,
        *,
        platform: str | None = None,
        status_code: int | None = None,
        vendor_code: str | None = None,
        request_id: str | None = None,
        cursor: str | None = None,
    ) -> None:
        # Every text field is redacted here, whoever builds the error: a server may echo a token anywhere.
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.status_code = status_code
        self.vendor_code = _redacted(vendor_code)
        self.request_id = _redacted(request_id)
        self.cursor = cursor

    def __str__(self) -> str:
        parts = [f"[{self.platform}] " if self.platform else "", redact(self.message)]
        if self.request_id:
            parts.append(f" (request id {self.request_id})")
        if self.cursor:
            parts.append(f"; resume with cursor={self.cursor}")
        return "".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Keep errors picklable (multiprocessing, pytest-xdist) with their attributes.
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _redacted(value: str | None) -> str | None:
    return redact(value) if isinstance(value, str) else value


def _rebuild(cls: type[RuntrackError], message: str, state: dict[str, object]) -> RuntrackError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ConfigurationError(RuntrackError):
    """A missing or invalid option, an unknown adapter, a broken plugin registration."""


class AuthenticationError(RuntrackError):
    """The platform refused the credentials (HTTP 401/403), or a token cannot be used."""


class NotFoundError(RuntrackError):
    """The platform answered 404: the object, or the API itself, does not exist there."""


class RequestError(RuntrackError):
    """The platform rejected the request (another 4xx, such as 400, 409 or 422)."""


class RateLimitError(RuntrackError):
    """HTTP 429, still after the configured retries."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(RuntrackError):
    """HTTP 5xx, still after the configured retries."""


class NetworkError(RuntrackError):
    """The connection failed or timed out, still after the configured retries."""


class PayloadError(RuntrackError):
    """The platform answered something runtrack cannot read; the message names the JSON path.

    ``path`` is a JSONPath such as ``$.data[3].startedTime`` (``$`` is the response body, or the item being
    mapped until the pagination loop places it in the page).
    """

    def __init__(self, message: str, *, path: str | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.path = path

    def __str__(self) -> str:
        text = super().__str__()
        if self.path:
            prefix = f"[{self.platform}] " if self.platform else ""
            text = f"{prefix}at {self.path}: {text[len(prefix) :]}"
        return text


class PaginationError(RuntrackError):
    """A listing cannot go on safely: a repeated token, a full page without continuation, a page budget."""


class DriftError(PaginationError):
    """Items moved across a page boundary of an offset listing while it was read (removed at its head) further
    than the listing could step back to find where it was: runs may be missing rather than silently skipped.
    The cursor continues after the last page delivered; list again from the start to be sure of every run."""
