"""Compact JSON (orjson when importable), with pre-rendered fragments."""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is optional
    _orjson = None  # type: ignore[assignment]


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON, like FastAPI/DRF/Conjure servers send."""
    if _orjson is not None:
        return _orjson.dumps(obj)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def loads(data: bytes | str) -> Any:
    """Parse JSON."""
    if _orjson is not None:
        return _orjson.loads(data)
    return json.loads(data)


def fragment(rendered: bytes) -> Any:
    """A value that :func:`dumps` embeds verbatim (orjson) or re-encodes (stdlib fallback)."""
    if _orjson is not None:
        return _orjson.Fragment(rendered)
    return json.loads(rendered)


def text(value: str) -> str:
    """``value`` as a JSON string literal (for hand-built templates)."""
    return json.dumps(value, ensure_ascii=False)
