"""Reading LangSmith error bodies: FastAPI ``detail`` (a string, or a 422 validation list), the v2 problem+json
shape, and the 403 ``org_scoped_key_requires_workspace`` that needs a workspace id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtrack.errors import AuthenticationError
from runtrack.http import ErrorInfo, default_error_message

if TYPE_CHECKING:
    import requests

__all__ = ["ORG_SCOPED", "describe"]

ORG_SCOPED = "org_scoped_key_requires_workspace"
_MAX_VALIDATION_ENTRIES = 5


def describe(response: requests.Response, *, workspace_id: str | None) -> ErrorInfo:
    """What went wrong, from a LangSmith error response."""
    try:
        body = response.json()
    except ValueError:
        return ErrorInfo(message=default_error_message(response))
    if not isinstance(body, dict):
        return ErrorInfo(message=default_error_message(response))
    code = body.get("error") if isinstance(body.get("error"), str) else None
    if code == ORG_SCOPED:
        return ErrorInfo(message=_org_scoped_message(workspace_id), vendor_code=code, error_class=AuthenticationError)
    detail = body.get("detail")
    if isinstance(detail, list):
        return _validation(detail)
    parts = [body[key] for key in ("title", "detail", "message", "remedy") if isinstance(body.get(key), str)]
    if parts:
        return ErrorInfo(message=": ".join(dict.fromkeys(parts)), vendor_code=code)
    return ErrorInfo(message=default_error_message(response), vendor_code=code)


def _org_scoped_message(workspace_id: str | None) -> str:
    if workspace_id:
        return (
            f"this API key is organization-scoped and the workspace id sent (X-Tenant-Id={workspace_id}) was not "
            "accepted: check that workspace_id / LANGSMITH_WORKSPACE_ID names a workspace of the key's organization"
        )
    return (
        "this API key is organization-scoped and needs a workspace: pass workspace_id=... to "
        "runtrack.connect('langsmith', ...) or set LANGSMITH_WORKSPACE_ID (sent as X-Tenant-Id)"
    )


def _validation(entries: list[Any]) -> ErrorInfo:
    """FastAPI 422: ``[{"loc": ["query", "limit"], "msg": "...", "type": "less_than_equal"}, ...]``."""
    messages = []
    first_type = None
    for entry in entries[:_MAX_VALIDATION_ENTRIES]:
        if not isinstance(entry, dict):
            messages.append(str(entry))
            continue
        loc = entry.get("loc")
        where = ".".join(str(part) for part in loc) if isinstance(loc, list) else ""
        messages.append(f"{where}: {entry.get('msg')}" if where else str(entry.get("msg")))
        if first_type is None and isinstance(entry.get("type"), str):
            first_type = entry["type"]
    if len(entries) > _MAX_VALIDATION_ENTRIES:
        messages.append(f"and {len(entries) - _MAX_VALIDATION_ENTRIES} more")
    return ErrorInfo(message="invalid request: " + "; ".join(messages), vendor_code=first_type)
