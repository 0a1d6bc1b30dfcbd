"""Deterministic destination keys and payload fingerprints.

``destination_key`` is a pure function of the direction, where the item goes and the source item's key, so a
re-run, a crash or a second machine computes the same key and finds what an earlier run wrote.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from runtrack.model import UID_NAMESPACE

__all__ = ["MIGRATE_NS", "canonical_json", "destination_key", "fingerprint"]

#: Namespace of every migration key: ``uuid5(runtrack.model.UID_NAMESPACE, "runtrack.migrate")``.
MIGRATE_NS = uuid.uuid5(UID_NAMESPACE, "runtrack.migrate")


def destination_key(direction: str, dst_platform: str, dst_instance: str, dst_kind: str, source_key: str) -> str:
    """``uuid5(MIGRATE_NS, "direction|dst_platform|dst_instance|dst_kind|source_key")`` as a string (a lone
    surrogate in a vendor id is hashed as itself, ``surrogatepass``, where ``uuid.uuid5`` would fail)."""
    name = f"{direction}|{dst_platform}|{dst_instance}|{dst_kind}|{source_key}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha1(MIGRATE_NS.bytes + name, usedforsecurity=False).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON-safe: {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: equal payloads give equal text whatever their key order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def fingerprint(payload: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a mapped payload (what decides skip versus update)."""
    # surrogatepass: a lone surrogate a vendor sent (legal JSON) hashes as itself instead of failing
    return hashlib.sha256(canonical_json(payload).encode("utf-8", "surrogatepass")).hexdigest()
