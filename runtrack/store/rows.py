"""One run as store rows: the query columns, the lossless document (``runtrack.dump_run`` as JSON) and its hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from ..convert import dump_run, encode_json_line, escape_surrogates, json_default, load_run
from ..model import Actor, Run
from . import facts

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
    *facts.COLUMNS,  # typed values for the report's aggregation (schema 2)
)

_orjson_dumps: Callable[..., bytes] | None
try:  # optional (the 'fast' extra)
    from orjson import OPT_NAIVE_UTC, OPT_UTC_Z
    from orjson import dumps as _orjson_dumps
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    _orjson_dumps = None
    OPT_NAIVE_UTC = OPT_UTC_Z = 0


def _json(value: Any) -> str:
    """Compact JSON text. Any valid JSON of the same values will do here (an export line must be the same bytes
    with and without orjson; a store document need not), so orjson writes it as it can, and what it cannot
    (integers beyond 64 bits, lone surrogates) is written as an export line is (``encode_json_line``)."""
    if _orjson_dumps is not None:
        try:
            return _orjson_dumps(value, default=json_default).decode()
        except TypeError:
            pass
    return encode_json_line(value)[:-1].decode()


def _hash_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return ["decimal", str(value)]  # never equal to the string "1.0" or the float 1.0
    if isinstance(value, Actor):
        return [value.id, value.username, value.email]
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(type(value).__name__)


def _fields(run: Run) -> tuple[Any, ...]:
    return (
        run.uid,
        run.platform,
        run.instance,
        run.kind,
        run.native_id,
        run.name,
        run.status,
        run.status_raw,
        run.review_status,
        run.created_at,
        run.started_at,
        run.ended_at,
        run.created_by,
        run.parent_uid,
        run.scope,
        run.metrics,
        run.error,
        run.tags,
        run.url,
        run.schema_version,
        run.raw,
    )


def fingerprint(run: Run) -> str:
    """The content hash of a run: every field, without building its document, so that an unchanged run costs
    one serialisation and nothing else. (With and without orjson the hashes differ: a store synced with both sees
    each run as changed once.)"""
    if _orjson_dumps is not None:
        try:
            data = _orjson_dumps(_fields(run), default=_hash_default, option=OPT_NAIVE_UTC | OPT_UTC_Z)
            return hashlib.blake2b(data, digest_size=16).hexdigest()
        except TypeError:
            pass
    fields = _fields(run)
    head = repr((*fields[:14], sorted(run.scope.items()), sorted(run.metrics.items()), *fields[16:20]))
    digest = hashlib.blake2b(head.encode(errors="surrogatepass"), digest_size=16)
    digest.update(json.dumps(run.raw, ensure_ascii=False).encode(errors="surrogatepass"))
    return digest.hexdigest()


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
    """A run to write: its content ``hash`` at once; its ``doc`` (lossless JSON) and ``runs`` row only when asked
    (a run whose hash is stored already needs neither)."""

    __slots__ = ("_data", "hash", "run")

    def __init__(self, run: Run) -> None:
        self.run = run
        self.hash = fingerprint(run)
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = dump_run(self.run)
        return self._data

    @property
    def doc(self) -> str:
        return _json(self.data)

    def row(self, source: str) -> tuple[Any, ...]:
        return bindable(self._row(source))

    def _row(self, source: str) -> tuple[Any, ...]:
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
            _json(data["scope"]),
            _json(data["metrics"]),
            _json(data["tags"]),
            run.schema_version,
            self.hash,
            *facts.report_values(
                run.created_at or run.started_at, run.started_at, run.ended_at, run.metrics, run.scope
            ),
        )


def bindable(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """``row`` as SQLite can bind it: a lone surrogate (legal in JSON, so in a vendor's name or error) cannot be
    encoded as UTF-8, so those columns get the text ``\\udXXX`` (the project's output rule, docs/security.md).
    Only the query columns change: the run itself is read back from its lossless document."""
    if all(not isinstance(v, str) or v.isascii() for v in row):
        return row
    return tuple(escape_surrogates(v) if isinstance(v, str) else v for v in row)


def encode(run: Run) -> Encoded:
    return Encoded(run)


def decode(doc: str) -> Run:
    """The run a document was written from (equal to it, ``raw`` included)."""
    return load_run(json.loads(doc))
