"""What a served run looks like: the converter's JSON, ``raw`` left out unless asked for, long strings clipped."""

from __future__ import annotations

from typing import Any

import attrs

from ..convert import converter
from ..model import Run

__all__ = ["MAX_STRING", "clip", "run_json"]

#: longest string a result carries; longer ones end with :func:`clip`'s marker
MAX_STRING = 2000


def clip(value: Any, limit: int = MAX_STRING) -> Any:
    """``value`` with every string longer than ``limit`` cut, ending with a marker that says how much was cut."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        return f"{value[:limit]}…[clipped {len(value) - limit} characters]"
    if isinstance(value, dict):
        return {k: clip(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [clip(v, limit) for v in value]
    return value


def run_json(run: Run, *, include_raw: bool = False) -> dict[str, Any]:
    """``converter.unstructure(run)`` for a result: without ``raw`` unless ``include_raw``, strings clipped."""
    if include_raw:
        data: dict[str, Any] = converter.unstructure(run)
    else:  # leave the payload out before unstructuring it: it is most of the work
        data = converter.unstructure(attrs.evolve(run, raw=None))
        data.pop("raw", None)
    result: dict[str, Any] = clip(data)
    return result
