"""Foundry error bodies: the Conjure envelope, the empty 404 of a missing API, and the QoS hint headers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from runtrack import RateLimitError
from runtrack.http import ErrorInfo, default_error_message

if TYPE_CHECKING:
    import requests

__all__ = ["HINTS", "describe_error"]

#: What to do about the errors users meet most, by ``errorName`` (without a ``Namespace:`` prefix).
HINTS = {
    "ApiFeaturePreviewUsageOnly": (
        "this endpoint is in preview and Foundry serves it only with the query parameter preview=true; runtrack "
        "sends preview=true on every Model Studio request, so a proxy or gateway in between may have dropped it"
    ),
    "ApiUsageDenied": (
        "the token may not use this API (a third-party application needs the scope api:models-read to list "
        "and api:models-write to launch)"
    ),
    "ModelStudioNotFound": (
        "no Model Studio with this RID is visible to the token: check the RID (option model_studios or "
        "FOUNDRY_MODEL_STUDIOS) and the token's access"
    ),
    "ModelStudioConfigVersionNotFound": (
        "the studio has no such config version (this is an error, not an empty result; config_versions() lists "
        "the versions)"
    ),
    "InvalidPageToken": "Foundry no longer accepts this page token: start the listing again without cursor=",
    "InvalidPageSize": "page_size must be at least 1",
    "LaunchModelStudioPermissionDenied": "the token may not launch this studio (scope api:models-write)",
    "BuildNotFound": "the build does not exist or the token cannot see it (scope api:orchestration-read)",
}

NOT_AVAILABLE = (
    "the API does not exist on this Foundry stack (HTTP 404 with an empty body): Model Studio APIs may not be "
    "deployed there, or the base URL does not point at Foundry"
)
_PARAM_CHARS = 120


def _param(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= _PARAM_CHARS else text[: _PARAM_CHARS - 1] + "…"


def _conjure(body: Any) -> tuple[str | None, str] | None:
    """``(errorName, message)`` of a Conjure error body, or None when the body is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("errorName"), str):
        return None
    name: str = body["errorName"]
    parts = [str(body.get("errorCode") or "error")]
    params = body.get("parameters")
    if isinstance(params, dict) and params:
        parts.append(", ".join(f"{k}={_param(v)}" for k, v in params.items()))
    hint = HINTS.get(name.rpartition(":")[2])
    if hint:
        parts.append(hint)
    instance = body.get("errorInstanceId")
    text = "; ".join(parts)
    if instance:
        text += f" (errorInstanceId {instance})"
    return name, text


def _qos(response: requests.Response) -> tuple[bool | None, str | None]:
    """``(retry override, note)`` from ``QoS-Retry-Hint`` and ``QoS-Due-To``."""
    retry_hint = response.headers.get("QoS-Retry-Hint", "").strip().lower()
    due_to = response.headers.get("QoS-Due-To", "").strip()
    notes = []
    retry: bool | None = None
    if retry_hint in ("do-not-retry", "do_not_retry", "donotretry"):
        retry = False
        notes.append("Foundry asked not to retry (QoS-Retry-Hint: do-not-retry)")
    if due_to:
        notes.append(f"throttled (QoS-Due-To: {due_to})")
    return retry, "; ".join(notes) or None


def describe_error(response: requests.Response) -> ErrorInfo:
    """Read a Foundry error response: ``vendor_code`` is the ``errorName``, the message holds the parameters."""
    status = response.status_code
    retry, note = _qos(response) if status in (429, 503) else (None, None)
    error_class = RateLimitError if status == 503 and response.headers.get("QoS-Due-To") else None
    if status == 404 and not response.content.strip():
        return ErrorInfo(message=NOT_AVAILABLE)
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    conjure = _conjure(body)
    if conjure is not None:
        name, message = conjure
    else:
        name, message = None, default_error_message(response)
        if status in (429, 503):
            message = f"Foundry is shedding load ({message})"
    if note:
        message = f"{message}; {note}"
    return ErrorInfo(message=message, vendor_code=name, error_class=error_class, retry=retry)
