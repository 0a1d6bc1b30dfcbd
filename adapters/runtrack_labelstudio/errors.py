"""Reading Label Studio error bodies.

* DRF errors arrive wrapped by ``custom_exception_handler``: ``{"id", "status_code", "version", "detail",
  "exc_info"[, "validation_errors": {field: [messages]}]}``; both ``detail`` and the validation messages go
  into the error message.
* Some views answer ``{"error": "..."}`` (ML backend ``/versions``) or ``{"errors": [...]}``.
* A URL Label Studio has no route for (an unknown id on a detail route, a trailing slash where none belongs,
  an Enterprise-only API on Community Edition) answers its 170 KB **HTML** 404 page: that becomes a short
  :class:`NotFoundError`, and under ``/api/prompts`` one that says Prompts need Label Studio Enterprise.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from runtrack.errors import NotFoundError
from runtrack.http import ErrorInfo, default_error_message

if TYPE_CHECKING:
    import requests

__all__ = ["ENTERPRISE_ONLY", "describe_error"]

MAX_MESSAGE = 500
ENTERPRISE_ONLY = (
    "Prompts need Label Studio Enterprise: this server has no /api/prompts/ API (Label Studio Community Edition "
    "answers 404 with its HTML page). ML backends (ml_backends()) work on every edition"
)
_TAG = re.compile(r"<[^>]{0,200}>")
_PROMPT_OBJECT = re.compile(r"/api/prompts/\d+")


def _clean(text: str) -> str:
    text = " ".join(_TAG.sub("", text).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _flatten(errors: Any, prefix: str = "") -> list[str]:
    """``{"project": ["This field is required."]}`` -> ``["project: This field is required."]``."""
    if isinstance(errors, dict):
        out: list[str] = []
        for key, value in errors.items():
            name = key if key != "non_field_errors" else ""
            out += _flatten(value, f"{prefix}.{name}" if prefix and name else prefix or name)
        return out
    if isinstance(errors, list):
        return [m for value in errors for m in _flatten(value, prefix)]
    if errors is None or errors == "":
        return []
    return [f"{prefix}: {errors}" if prefix else str(errors)]


def _is_html(response: requests.Response) -> bool:
    if "html" in response.headers.get("Content-Type", ""):
        return True
    return response.content[:200].lstrip().lower().startswith((b"<!doctype", b"<html"))


def _json_message(body: dict[str, Any]) -> str | None:
    parts: list[str] = []
    detail = body.get("detail")
    if detail not in (None, ""):
        parts.append(detail if isinstance(detail, str) else "; ".join(_flatten(detail)))
    parts += _flatten(body.get("validation_errors"))
    for key in ("error", "errors", "message"):
        if not parts and body.get(key):
            parts += _flatten(body[key])
    return _clean("; ".join(parts)) if parts else None


def describe_error(response: requests.Response) -> ErrorInfo:
    """The :class:`ErrorInfo` of a Label Studio error response."""
    path = urlsplit(response.url or "").path
    prompts = "/api/prompts" in path
    if _is_html(response):
        if response.status_code == 404:
            if prompts:
                return ErrorInfo(message=ENTERPRISE_ONLY, error_class=NotFoundError)
            return ErrorInfo(
                message="Label Studio has no such object or route (it answered its HTML 404 page)",
                error_class=NotFoundError,
            )
        return ErrorInfo(message=default_error_message(response))
    body: Any = None
    if "json" in response.headers.get("Content-Type", "") or response.content[:1] in (b"{", b"["):
        try:
            body = response.json()
        except ValueError:
            body = None
    if not isinstance(body, dict):
        return ErrorInfo(message=default_error_message(response))
    message = _json_message(body)
    if message and response.status_code == 404 and _PROMPT_OBJECT.search(path):
        message += " (unknown prompt, version or inference run)"
    code = body.get("code")
    return ErrorInfo(message=message, vendor_code=code if isinstance(code, str) else None)
