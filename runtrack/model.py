"""The normalized run model shared by every adapter.

The classes are frozen and keyword-only. They know nothing about JSON: :mod:`runtrack.convert` owns the wire rules.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

__all__ = [
    "SCHEMA_VERSION",
    "Actor",
    "Metric",
    "ReviewStatus",
    "Run",
    "RunStatus",
    "make_uid",
]

#: Version of the :class:`Run` model; bumped when a field changes meaning or is removed.
SCHEMA_VERSION = 1

#: Namespace of run uids (UUIDv5): ``uuid5(NAMESPACE, "platform|instance|kind|native_id")``.
UID_NAMESPACE = uuid.UUID("5d3f1a3e-8c1b-4f5e-9a57-7275e7472ac1")

Metric = int | float | Decimal


class RunStatus(str, enum.Enum):
    """Lifecycle status of a run. ``UNKNOWN`` is any vendor value runtrack does not know (see ``status_raw``)."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    SKIPPED = "SKIPPED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELED, RunStatus.SKIPPED})


class ReviewStatus(str, enum.Enum):
    """Review state of an item in a review queue."""

    PENDING = "PENDING"
    REVIEWED = "REVIEWED"


_NS_BYTES = UID_NAMESPACE.bytes


def make_uid(platform: str, instance: str, kind: str, native_id: str) -> str:
    """The stable uid of a run: a pure function of where it lives and what the vendor calls it.

    Equal to ``str(uuid.uuid5(UID_NAMESPACE, "platform|instance|kind|native_id"))`` (instance in lower case),
    computed without building UUID objects: it runs once per run read, so the hashed prefix of a
    (platform, instance, kind) is kept rather than built again for every run.
    """
    key = (platform, instance, kind)
    prefix = _PREFIXES.get(key)
    if prefix is None:
        prefix = _NS_BYTES + f"{platform}|{instance.lower()}|{kind}|".encode()
        if len(_PREFIXES) >= 1024:
            _PREFIXES.clear()
        _PREFIXES[key] = prefix
    h = _sha1(prefix + native_id.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_PREFIXES: dict[tuple[str, str, str], bytes] = {}
_sha1 = hashlib.sha1


# RFC 4122 variant bits (10xx) applied to the first hex digit of the clock_seq field.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


@attrs.frozen(kw_only=True)
class Actor:
    """Who created or launched a run. Any field may be unknown."""

    id: str | None = None
    username: str | None = None
    email: str | None = None


def _uid_default(self: Run) -> str:
    return make_uid(self.platform, self.instance, self.kind, self.native_id)


@attrs.frozen(kw_only=True, eq=True, hash=False)
class Run:
    """One run on one platform, normalized.

    ``uid`` defaults to :func:`make_uid` of ``platform``, ``instance`` (the host of the base URL), ``kind`` and
    ``native_id``. ``metrics`` holds numbers only; an unknown value is absent, never 0. ``raw`` is the vendor
    payload exactly as received.
    """

    platform: str
    instance: str
    kind: str
    native_id: str
    uid: str = attrs.field(default=attrs.Factory(_uid_default, takes_self=True))
    name: str | None = None
    status: RunStatus = RunStatus.UNKNOWN
    status_raw: str | None = None
    review_status: ReviewStatus | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    created_by: Actor | None = None
    parent_uid: str | None = None
    scope: Mapping[str, str] = attrs.field(factory=dict)
    metrics: Mapping[str, Metric] = attrs.field(factory=dict)
    error: str | None = None
    tags: tuple[str, ...] = ()
    url: str | None = None
    raw: Any = None
    schema_version: int = SCHEMA_VERSION

    def __hash__(self) -> int:
        return hash(self.uid)

    @property
    def duration(self) -> timedelta | None:
        """``ended_at - started_at``; None while either is unknown."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at
