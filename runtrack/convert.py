"""Wire rules in one place: the base cattrs converter, datetime and enum parsing, JSON Lines helpers.

Adapters copy ``converter`` (``converter.copy()``; built on first use) when they need vendor hooks, and use the
small parsing functions here on their per-item path.
"""

from __future__ import annotations

import enum
import json
import re
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
    from cattrs.gen import make_dict_unstructure_fn, override
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
    # ``raw`` is the vendor's parsed JSON, already JSON-safe: walking it value by value (cattrs does that for Any)
    # costs more than everything else in dump_run together on large payloads
    conv.register_unstructure_hook(Run, make_dict_unstructure_fn(Run, conv, raw=override(unstruct_hook=_as_is)))
    return conv


def _as_is(value: Any) -> Any:
    return value


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
    """A JSON-safe dict of ``run`` (lossless)."""
    data: dict[str, Any] = base_converter().unstructure(run)
    return data


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


def write_jsonl(runs: Iterable[Run], fp: IO[str]) -> int:
    """Write one JSON document per line; returns the number written."""
    count = 0
    for run in runs:
        fp.write(json.dumps(dump_run(run), ensure_ascii=False, separators=(",", ":")))
        fp.write("\n")
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
