"""One run as store rows: the query columns, the lossless document (``runtrack.dump_run`` as JSON) and its hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from ..convert import dump_run, load_run
from ..model import Actor, Run

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
_dumps_ascii = json.JSONEncoder(separators=(",", ":")).encode

_orjson_dumps: Callable[..., bytes] | None
try:  # optional (the 'fast' extra): several times faster than the stdlib here
    from orjson import OPT_NAIVE_UTC, OPT_UTC_Z
    from orjson import dumps as _orjson_dumps
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    _orjson_dumps = None
    OPT_NAIVE_UTC = OPT_UTC_Z = 0

_OPTIONS = OPT_NAIVE_UTC | OPT_UTC_Z  # datetimes as format_datetime writes them


def dumps(data: Any) -> str:
    """Compact JSON text of JSON-safe ``data``: orjson when installed and able (64-bit integers, no lone
    surrogates), else the stdlib (escaping to ASCII only when the text holds lone surrogates, which SQLite cannot
    store)."""
    if _orjson_dumps is not None:
        try:
            return _orjson_dumps(data).decode()
        except TypeError:  # integers beyond 64 bits, lone surrogates: the stdlib decides
            pass
    text = _dumps(data)
    try:
        text.encode()
    except UnicodeEncodeError:
        return _dumps_ascii(data)
    return text


def _doc_default(value: Any) -> Any:
    """orjson's hook for what ``dump_run`` writes differently from orjson: Decimal as a string, Actor as a dict."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Actor):
        return {"id": value.id, "username": value.username, "email": value.email}
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(type(value).__name__)


def _hash_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return ["decimal", str(value)]  # never equal to the string "1.0" or the float 1.0
    return _doc_default(value)


def _fast_doc(run: Run) -> str | None:
    """``dumps(dump_run(run))`` in one orjson call (same text: keys in field order, datetimes as format_datetime
    writes them); None when orjson is missing or cannot (then the caller takes the slow path)."""
    if _orjson_dumps is None:
        return None
    try:
        return _orjson_dumps(
            {
                "platform": run.platform,
                "instance": run.instance,
                "kind": run.kind,
                "native_id": run.native_id,
                "uid": run.uid,
                "name": run.name,
                "status": run.status,
                "status_raw": run.status_raw,
                "review_status": run.review_status,
                "created_at": run.created_at,
                "started_at": run.started_at,
                "ended_at": run.ended_at,
                "created_by": run.created_by,
                "parent_uid": run.parent_uid,
                "scope": run.scope,
                "metrics": run.metrics,
                "error": run.error,
                "tags": run.tags,
                "url": run.url,
                "raw": run.raw,
                "schema_version": run.schema_version,
            },
            default=_doc_default,
            option=_OPTIONS,
        ).decode()
    except TypeError:
        return None


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
            data = _orjson_dumps(_fields(run), default=_hash_default, option=_OPTIONS)
            return hashlib.blake2b(data, digest_size=16).hexdigest()
        except TypeError:
            pass
    fields = _fields(run)
    head = repr((*fields[:14], sorted(run.scope.items()), sorted(run.metrics.items()), *fields[16:20]))
    digest = hashlib.blake2b(head.encode(errors="surrogatepass"), digest_size=16)
    digest.update(_dumps(run.raw).encode(errors="surrogatepass"))
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
        return _fast_doc(self.run) or dumps(self.data)

    def _json(self, field: str) -> str:
        if _orjson_dumps is not None:
            try:
                return _orjson_dumps(getattr(self.run, field), default=_doc_default).decode()
            except TypeError:
                pass
        return dumps(self.data[field])

    def row(self, source: str) -> tuple[Any, ...]:
        run = self.run
        created, started = timestamp(run.created_at), timestamp(run.started_at)
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
            self._json("scope"),
            self._json("metrics"),
            self._json("tags"),
            run.schema_version,
            self.hash,
        )


def encode(run: Run) -> Encoded:
    return Encoded(run)


def decode(doc: str) -> Run:
    """The run a document was written from (equal to it, ``raw`` included)."""
    return load_run(json.loads(doc))
