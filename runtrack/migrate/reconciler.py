"""Field-level comparison of a mapped payload with what the destination holds."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["compare_fields", "flatten"]


def flatten(payload: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``{"data": {"a": 1}}`` -> ``("data.a", 1)``; lists and scalars are leaves."""
    for key, value in payload.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            yield from flatten(value, path)
        else:
            yield path, value


def compare_fields(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(field, expected, actual)`` for every mapped field whose value differs (a field missing at the
    destination has actual None)."""
    there = dict(flatten(actual))
    return [(f, v, there.get(f)) for f, v in flatten(expected) if there.get(f) != v]
