"""Label Studio ML backends as normalized records.

An ML backend is a connection to a model server, not a run: its ``state`` is a snapshot of that connection
(``CO`` connected, ``DI`` disconnected, ``ER`` error, ``TR`` training, ``PR`` predicting). Label Studio
re-checks every backend (``GET /health`` and ``POST /setup`` on the model server) and **saves** the new state
on every list and detail request, so reading a backend changes it: a ``TR`` flips back to ``CO``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from runtrack.convert import mask_secret_fields, mask_url_password, open_enum, parse_datetime
from runtrack.errors import PayloadError

__all__ = ["BackendState", "MLBackend", "MLBackendVersions", "parse_backend", "parse_versions"]


class BackendState(str, enum.Enum):
    """State of an ML backend connection; ``UNKNOWN`` is a code runtrack does not know (see ``state_raw``)."""

    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"
    ERROR = "ERROR"
    TRAINING = "TRAINING"
    PREDICTING = "PREDICTING"
    UNKNOWN = "UNKNOWN"


#: Label Studio ``MLBackendState`` codes (lower case keys, as :func:`runtrack.convert.open_enum` wants them).
STATES: Mapping[str, BackendState] = {
    "co": BackendState.CONNECTED,
    "di": BackendState.DISCONNECTED,
    "er": BackendState.ERROR,
    "tr": BackendState.TRAINING,
    "pr": BackendState.PREDICTING,
}


@attrs.frozen(kw_only=True)
class MLBackend:
    """One ML backend of a project. ``error`` is Label Studio's ``error_message``; ``raw`` the payload as received
    with secret fields (``basic_auth_pass``, ``password``, ``token``, ``secret``, ``api_key`` at any depth) and URL
    passwords masked, see :func:`runtrack.convert.mask_secret_fields`."""

    id: int
    project: int | None
    url: str | None
    title: str | None
    state: BackendState
    state_raw: str | None
    error: str | None = None
    model_version: str | None = None
    is_interactive: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: Any = None


@attrs.frozen(kw_only=True)
class MLBackendVersions:
    """Model versions an ML backend reports. When the model server cannot list them (it answers 404 on
    ``/versions``), Label Studio returns only the current version and a ``message`` (``fallback`` is True)."""

    backend_id: int
    versions: tuple[str, ...]
    message: str | None = None
    raw: Any = None

    @property
    def fallback(self) -> bool:
        return self.message is not None


def _int(value: Any, path: str, *, required: bool = False) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PayloadError(f"expected an integer id, got {type(value).__name__}", path=path)
    try:
        return int(value)
    except ValueError:
        raise PayloadError(f"expected an integer id, got {str(value)[:40]!r}", path=path) from None


def _text(value: Any, path: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(f"expected a string, got {type(value).__name__}", path=path)
    return value


def _url(value: Any) -> str | None:
    text = _text(value, "$.url")
    return None if text is None else mask_url_password(text)


def parse_backend(item: Any) -> MLBackend:
    """An :class:`MLBackend` from one ``/api/ml`` object; unreadable values raise :class:`PayloadError`."""
    if not isinstance(item, dict):
        raise PayloadError(f"expected an ML backend object, got {type(item).__name__}", path="$")
    state, state_raw = open_enum(BackendState, STATES, item.get("state"))
    interactive = item.get("is_interactive")
    backend_id = _int(item.get("id"), "$.id", required=True)
    assert backend_id is not None
    model_version = item.get("model_version")
    return MLBackend(
        id=backend_id,
        project=_int(item.get("project"), "$.project"),
        url=_url(item.get("url")),
        title=_text(item.get("title"), "$.title"),
        state=state,
        state_raw=state_raw,
        error=_text(item.get("error_message"), "$.error_message"),
        model_version=None if model_version in (None, "") else str(model_version),
        is_interactive=interactive if isinstance(interactive, bool) else None,
        created_at=parse_datetime(item.get("created_at"), "$.created_at"),
        updated_at=parse_datetime(item.get("updated_at"), "$.updated_at"),
        raw=mask_secret_fields(item),
    )


def parse_versions(backend_id: int, body: Any) -> MLBackendVersions:
    """:class:`MLBackendVersions` from ``GET /api/ml/{id}/versions``."""
    if not isinstance(body, dict):
        raise PayloadError(f"expected an object with 'versions', got {type(body).__name__}", path="$")
    versions = body.get("versions")
    if versions is None:
        versions = []
    if not isinstance(versions, list):
        raise PayloadError(f"expected an array, got {type(versions).__name__}", path="$.versions")
    message = body.get("message")
    return MLBackendVersions(
        backend_id=backend_id,
        versions=tuple(str(v) for v in versions if v is not None and v != ""),
        message=message if isinstance(message, str) and message else None,
        raw=mask_secret_fields(body),
    )
