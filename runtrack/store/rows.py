"""One run as store rows: the query columns, the lossless document (``runtrack.dump_run`` as JSON) and its hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from ..convert import dump_run, load_run
from ..model import Run

__all__ = ["RUN_COLUMNS", "Encoded", "decode", "encode", "timestamp"]

UTC = timezone.utc

#: columns of ``runs`` written from a run, in the order :func:`encode` returns them
RUN_COLUMNS = (
    "uid",
    "platform",
    "instance",
    "kind",
    "native_id",
    "source",
    "name",
    "status",
    "status_raw",
    "review_status",
    "created_at",
    "started_at",
    "ended_at",
    "at",
    "parent_uid",
    "error",
    "url",
    "scope_json",
    "metrics_json",
    "tags_json",
    "schema_version",
    "content_hash",
)

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def timestamp(value: datetime | None) -> str | None:
    """Store text of a datetime: UTC, six fractional digits, ``Z`` (so text order is time order)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return f"{value.isoformat(timespec='microseconds')[:26]}Z"


class Encoded:
    """A run ready to write: ``doc`` (lossless JSON), ``hash`` of it, and the ``runs`` row minus ``source``."""

    __slots__ = ("data", "doc", "hash", "run")

    def __init__(self, run: Run) -> None:
        self.run = run
        self.data = data = dump_run(run)
        self.doc = _dumps(data)
        self.hash = hashlib.blake2b(self.doc.encode(), digest_size=16).hexdigest()

    def row(self, source: str) -> tuple[Any, ...]:
        run = self.run
        created, started = timestamp(run.created_at), timestamp(run.started_at)
        data = self.data
        return (
            run.uid,
            run.platform,
            run.instance,
            run.kind,
            run.native_id,
            source,
            run.name,
            run.status.value,
            run.status_raw,
            None if run.review_status is None else run.review_status.value,
            created,
            started,
            timestamp(run.ended_at),
            created or started,
            run.parent_uid,
            run.error,
            run.url,
            _dumps(data["scope"]),
            _dumps(data["metrics"]),
            _dumps(data["tags"]),
            run.schema_version,
            self.hash,
        )


def encode(run: Run) -> Encoded:
    return Encoded(run)


def decode(doc: str) -> Run:
    """The run a document was written from (equal to it, ``raw`` included)."""
    return load_run(json.loads(doc))
