"""Wire rules in one place: the base cattrs converter, datetime and enum parsing, JSON Lines helpers.

Adapters copy ``converter`` (``converter.copy()``; built on first use) when they need vendor hooks, and use the
small parsing functions here on their per-item path.
"""

from __future__ import annotations

import enum
import json
import math
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import IO, TYPE_CHECKING, Any, TypeVar

from .errors import PayloadError
from .model import Metric, ReviewStatus, Run, RunStatus

if TYPE_CHECKING:  # cattrs loads with the converter, not with the parsing helpers adapters use per item
    import cattrs

    converter: cattrs.Converter

__all__ = [
    "base_converter",
    "converter",
    "dump_run",
    "encode_json_line",
    "encode_runs",
    "json_default",
    "load_run",
    "open_enum",
    "parse_datetime",
    "parse_decimal",
    "read_jsonl",
    "write_jsonl",
]

UTC = timezone.utc
E = TypeVar("E", bound=enum.Enum)

# Python 3.10's fromisoformat knows neither "Z" nor more than 6 fractional digits; vendors send both.
_ISO_FALLBACK = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:[.,](?P<frac>\d+))?"
    r"(?P<tz>Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_datetime(value: Any, path: str = "$") -> datetime | None:
    """Parse an ISO 8601 / RFC 3339 string (``Z``, offsets, naive = UTC) into an aware UTC datetime.

    ``None`` and ``""`` mean unknown. Anything else unreadable raises :class:`PayloadError` naming ``path``.
    This runs for every timestamp of every run read: keep the common path short.
    """
    if value.__class__ is str and value:
        try:
            parsed = _fromisoformat(value)
        except ValueError:
            parsed = _parse_iso_fallback(value, path)
    elif value is None or value == "":
        return None
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise PayloadError(f"expected an ISO 8601 datetime string, got {type(value).__name__}", path=path)
    tz = parsed.tzinfo
    if tz is None:
        return parsed.replace(tzinfo=UTC)
    if tz is UTC:
        return parsed
    return parsed.astimezone(UTC)


_fromisoformat = datetime.fromisoformat


def _parse_iso_fallback(value: str, path: str) -> datetime:
    m = _ISO_FALLBACK.match(value.strip())
    if m is None:
        raise PayloadError(f"invalid datetime {value[:64]!r}", path=path)
    frac = (m["frac"] or "")[:6].ljust(6, "0")
    tz = m["tz"] or ""
    if tz in ("Z", "z"):
        tz = "+00:00"
    elif tz and ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    time = m["time"] if m["time"].count(":") == 2 else m["time"] + ":00"
    try:
        return datetime.fromisoformat(f"{m['date']}T{time}.{frac}{tz}")
    except ValueError as exc:
        raise PayloadError(f"invalid datetime {value[:64]!r}: {exc}", path=path) from None


def format_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def open_enum(enum_cls: type[E], table: Mapping[str, E], raw: Any) -> tuple[E, str | None]:
    """Look up a vendor value case-insensitively; unknown values give ``enum_cls.UNKNOWN`` and keep the raw string.

    ``table`` keys must be lower case. Returns ``(member, raw string or None)``.
    """
    if raw is None:
        return enum_cls["UNKNOWN"], None
    text = str(raw)
    return table.get(text.lower(), enum_cls["UNKNOWN"]), text


def parse_decimal(value: Any, path: str = "$") -> Decimal | None:
    """Money and other exact numbers: strings and numbers become Decimal; None/"" stays unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PayloadError("expected a decimal number, got a boolean", path=path)
    try:
        # via str(): Decimal(0.1) would carry float noise into money.
        return Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise PayloadError(f"invalid decimal {str(value)[:64]!r}", path=path) from None


def _structure_metric(value: Any, _: Any) -> Metric:
    # JSON numbers stay numbers; strings are exact decimals (that is how Decimal is written).
    if isinstance(value, bool):
        raise ValueError("a metric cannot be a boolean")
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, str):
        return Decimal(value)
    raise ValueError(f"a metric must be a number or a decimal string, not {type(value).__name__}")


def _structure_decimal(value: Any, _: Any) -> Decimal:
    try:
        parsed = parse_decimal(value)
    except PayloadError as exc:
        raise ValueError(exc.message) from None
    if parsed is None:
        raise ValueError("empty decimal")
    return parsed


def _structure_datetime(value: Any, _: Any) -> datetime:
    try:
        parsed = parse_datetime(value)
    except PayloadError as exc:
        raise ValueError(exc.message) from None
    if parsed is None:
        raise ValueError("empty datetime")
    return parsed


def _make_base_converter() -> cattrs.Converter:
    from cattrs.preconf.json import make_converter

    conv = make_converter()
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, format_datetime)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Metric, _structure_metric)
    conv.register_unstructure_hook(Metric, lambda v: str(v) if isinstance(v, Decimal) else v)
    for enum_cls in (RunStatus, ReviewStatus):
        conv.register_structure_hook(enum_cls, _open_enum_hook)
        conv.register_unstructure_hook(enum_cls, lambda v: v.value)
    return conv


def _open_enum_hook(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        if "UNKNOWN" in cls.__members__:
            return cls["UNKNOWN"]
        raise


_converter: cattrs.Converter | None = None


def base_converter() -> cattrs.Converter:
    """The base converter (built on first use). ``unstructure(run)`` is JSON-safe; ``structure(d, Run) == run``."""
    global _converter
    if _converter is None:
        _converter = _make_base_converter()
    return _converter


def __getattr__(name: str) -> Any:
    # ``runtrack.convert.converter`` (and ``runtrack.converter``) stays the public name; it is built on first use.
    if name == "converter":
        return base_converter()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def dump_run(run: Run) -> dict[str, Any]:
    """A JSON-safe dict of ``run`` (lossless): what ``converter.unstructure(run)`` gives, field for field, except
    that ``raw`` is passed through as it is (the vendor's decoded JSON) instead of being copied value by value,
    which cost about nine tenths of the time. :func:`encode_json_line` writes Decimals and datetimes inside it as
    the converter would."""
    by = run.created_by
    review = run.review_status
    return {
        "platform": run.platform,
        "instance": run.instance,
        "kind": run.kind,
        "native_id": run.native_id,
        "uid": run.uid,
        "name": run.name,
        "status": run.status.value,
        "status_raw": run.status_raw,
        "review_status": None if review is None else review.value,
        "created_at": None if run.created_at is None else format_datetime(run.created_at),
        "started_at": None if run.started_at is None else format_datetime(run.started_at),
        "ended_at": None if run.ended_at is None else format_datetime(run.ended_at),
        "created_by": None if by is None else {"id": by.id, "username": by.username, "email": by.email},
        "parent_uid": run.parent_uid,
        "scope": dict(run.scope),
        "metrics": {k: str(v) if v.__class__ is Decimal else v for k, v in run.metrics.items()},
        "error": run.error,
        "tags": list(run.tags),
        "url": run.url,
        "raw": run.raw,
        "schema_version": run.schema_version,
    }


def json_default(value: Any) -> Any:
    """``default=`` for ``json.dumps`` of :func:`dump_run` output: what the converter makes of the non-JSON values a
    ``raw`` payload may hold (Decimal, datetime, enum, UUID)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _finite(value: Any) -> Any:
    """``value`` with every NaN and infinity replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _stdlib_line(value: Any) -> bytes:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=json_default, allow_nan=False)
    except ValueError:  # NaN or infinity: not JSON, written as null (orjson's choice too)
        value = _finite(value)
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=json_default)
    try:
        return text.encode() + b"\n"
    except UnicodeEncodeError:  # a lone surrogate (legal in JSON text): escaped as \udXXX, read back the same
        return json.dumps(value, separators=(",", ":"), default=json_default).encode() + b"\n"


# orjson writes some floats in another (equally exact) form than Python: 1e-7 for 1e-07, 0.00001 for 1e-05. A line
# with a number token of that shape is written by the stdlib instead (a false hit only costs speed).
_ORJSON_DIFFERS = re.compile(rb"[:,\[]-?(?:\d+(?:\.\d+)?e[-+]?\d(?!\d)|0\.0000)")


def encode_json_line(value: Any) -> bytes:
    """``value`` as one line of compact JSON in UTF-8, with the newline.

    The same bytes with or without orjson (the ``fast`` extra, about 20 times quicker): non-ASCII as is, integers of
    any size, Decimals as strings, datetimes as RFC 3339 UTC (``Z``), NaN and infinities as ``null``, lone
    surrogates escaped. orjson writes the line unless it cannot write it exactly as the stdlib would.
    """
    if _orjson_dumps is not None:
        try:
            data: bytes = _orjson_dumps(value, default=json_default, option=_ORJSON_OPTIONS)
        except TypeError:  # integers beyond 64 bits, lone surrogates, non-string keys, deep nesting
            pass
        else:
            if _ORJSON_DIFFERS.search(data) is None:
                return data
    return _stdlib_line(value)


_orjson_dumps: Any
try:
    import orjson

    _orjson_dumps = orjson.dumps
    _ORJSON_OPTIONS = (
        orjson.OPT_APPEND_NEWLINE
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_SUBCLASS
        | orjson.OPT_PASSTHROUGH_DATACLASS
    )
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    _orjson_dumps = None
    _ORJSON_OPTIONS = 0


def load_run(data: Any, path: str = "$") -> Run:
    """Rebuild a :class:`Run` from :func:`dump_run` output; a bad document raises :class:`PayloadError`."""
    conv = base_converter()
    import cattrs  # loaded by base_converter() already

    try:
        return conv.structure(data, Run)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        raise PayloadError(f"not a runtrack run: {_describe(exc, path)}") from None


def _describe(exc: BaseException, path: str) -> str:
    import cattrs

    if isinstance(exc, cattrs.BaseValidationError):
        messages = cattrs.transform_error(exc, path=path)
        return "; ".join(messages)
    return f"{exc} @ {path}"


def encode_runs(runs: Iterable[Run]) -> bytes:
    """The JSON Lines of ``runs`` (:func:`dump_run`, :func:`encode_json_line`) as one block of bytes: a page is
    encoded whole before any of it is written."""
    return b"".join([encode_json_line(dump_run(run)) for run in runs])


def write_jsonl(runs: Iterable[Run], fp: IO[str]) -> int:
    """Write one JSON document per line; returns the number written."""
    count = 0
    for run in runs:
        fp.write(encode_json_line(dump_run(run)).decode())
        count += 1
    return count


def read_jsonl(fp: IO[str], *, source: str = "<jsonl>") -> Iterator[Run]:
    """Read runs written by :func:`write_jsonl`; errors name the file and line."""
    for lineno, line in enumerate(fp, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PayloadError(f"{source}:{lineno}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        try:
            yield load_run(data)
        except PayloadError as exc:
            raise PayloadError(f"{source}:{lineno}: {exc.message}") from None
