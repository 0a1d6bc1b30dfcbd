"""Wire rules in one place: the base cattrs converter, datetime and enum parsing, JSON Lines helpers.

Adapters copy ``converter`` (``converter.copy()``; built on first use) when they need vendor hooks, and use the
small parsing functions here on their per-item path.
"""

from __future__ import annotations

import enum
import json
import math
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
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
    "enum_table",
    "escape_surrogates",
    "id_text",
    "is_secret_field",
    "json_default",
    "json_text",
    "load_run",
    "mask_secret_fields",
    "mask_url_password",
    "open_enum",
    "optional_text",
    "parse_datetime",
    "parse_decimal",
    "plain_values",
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
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-23:59 is after the last UTC datetime Python has
        raise PayloadError(f"datetime {str(value)[:64]!r} is out of range in UTC", path=path) from None


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
    """Look up a vendor value: exactly first (the wire's own spelling, no ``lower()`` per item), then
    case-insensitively; unknown values give ``enum_cls.UNKNOWN`` and keep the raw string.

    ``table`` keys are lower case; :func:`enum_table` adds the upper-case spellings for the exact hit. Returns
    ``(member, raw string or None)``.
    """
    if raw is None:
        return enum_cls["UNKNOWN"], None
    text = raw if raw.__class__ is str else str(raw)
    member = table.get(text)
    if member is None:
        member = table.get(text.lower(), enum_cls["UNKNOWN"])
    return member, text


def enum_table(table: Mapping[str, E]) -> dict[str, E]:
    """``table`` (lower-case keys) with the upper-case spellings added, for :func:`open_enum`'s exact hit."""
    return {**{k.upper(): v for k, v in table.items()}, **table}


def parse_decimal(value: Any, path: str = "$") -> Decimal | None:
    """Money and other exact numbers: strings and numbers become Decimal; None/"" stays unknown. NaN, sNaN and
    infinities are refused (they are not amounts, and sNaN breaks every sum)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PayloadError("expected a decimal number, got a boolean", path=path)
    try:
        # via str(): Decimal(0.1) would carry float noise into money.
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise PayloadError(f"invalid decimal {str(value)[:64]!r}", path=path) from None
    if not number.is_finite():
        raise PayloadError(f"expected a finite decimal number, got {str(value)[:64]!r}", path=path)
    return number


def id_text(value: Any, path: str = "$.id") -> str:
    """A vendor id: a non-empty string, or an integer written in decimal. Objects, arrays, booleans and floats
    are not ids (two different objects would print alike, or collide in a cursor)."""
    if value.__class__ is str and value:
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    shown = "an empty string" if value == "" else "null" if value is None else type(value).__name__
    raise PayloadError(f"expected an id (a string or an integer), got {shown}", path=path)


def optional_text(value: Any, path: str, *, structured: bool = False) -> str | None:
    """A text field (a name, an error): strings as they are, numbers written out; with ``structured``, an object
    or array becomes its compact JSON text (vendors put error details there). Anything else is an error."""
    if value is None or value.__class__ is str:
        return None if value is None else str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if structured and isinstance(value, (dict, list)):
        return json_text(value, sort_keys=True, separators=(",", ":"))
    raise PayloadError(f"expected a string, got {type(value).__name__}", path=path)


def json_text(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that always writes strict JSON: a number that is not finite (``1e400`` read as infinity,
    ``NaN``) is written as ``null``. Lone surrogates stay ``\\udXXX`` escapes with ``ensure_ascii``, or are escaped
    by the output stream (see :data:`OUTPUT_ERRORS`)."""
    try:
        return json.dumps(value, allow_nan=False, **kwargs)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False, **kwargs)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


#: How every runtrack output file and stream encodes text: UTF-8, and the lone surrogates a vendor may send
#: (``"\\ud800"``, legal JSON) or that stand for invalid UTF-8 bytes are written as ``\\udXXXX`` escapes instead of
#: failing. Inside JSON strings that escape is the same string again; in tables and CSV it shows as text.
OUTPUT_ERRORS = "backslashreplace"


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


_SECRET_WORDS = frozenset({"pass", "passwd", "password", "secret", "token", "apikey", "credential", "credentials"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
MASK = "***"


def is_secret_field(key: str) -> bool:
    """Whether a payload key names a secret: its last word is pass, password, secret, token, credentials...,
    or it ends in ``api_key``/``secret_key`` (``basic_auth_pass``, ``accessToken``; not ``token_type``,
    ``max_tokens`` or ``basic_auth_pass_is_set``)."""
    words = [w for w in re.split(r"[^a-z0-9]+", _CAMEL.sub("_", key).lower()) if w]
    if not words:
        return False
    return words[-1] in _SECRET_WORDS or (words[-1] == "key" and len(words) > 1 and words[-2] in ("api", "secret"))


def mask_secret_fields(value: Any) -> Any:
    """A copy of a JSON value with the values of secret-named keys (see :func:`is_secret_field`), at any depth,
    replaced by ``***``; null, empty and boolean values are kept (they say whether one is set, not what it is).
    Records that are not runs (ML backends, queues, config versions) keep their payload in ``raw`` through this,
    so their reprs, logs, reports and exports never carry such a value."""
    if isinstance(value, dict):
        return {
            k: MASK
            if isinstance(k, str) and is_secret_field(k) and v not in (None, "") and not isinstance(v, bool)
            else mask_secret_fields(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_secret_fields(v) for v in value]
    if isinstance(value, str) and "@" in value:
        return mask_url_password(value)
    return value


_URL_PASSWORD = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^/@\s:]*:)[^/@\s]+(@)")


def mask_url_password(text: str) -> str:
    """``scheme://user:***@host...`` for a URL that carries a password; anything else as it is."""
    return _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<2>", text)


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


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=json_default, allow_nan=False)


# Python writes floats between 1e-10 and 1e-4 as 1e-07 / 1.5e-05; orjson (and so the file format) as 1e-7 / 0.000015.
_PY_SMALL_FLOAT = re.compile(r"e-0[5-9]")
_PY_FLOAT_PARTS = re.compile(r"(-?)(\d)(?:\.(\d+))?e-0([5-9])")


def _float_text(text: str) -> str:
    """orjson's form of a float Python wrote as ``text`` (the same digits, the same value)."""
    m = _PY_FLOAT_PARTS.fullmatch(text)
    if m is None:
        return text
    sign, lead, frac, exp = m[1], m[2], m[3] or "", m[4]
    if exp == "5":
        return f"{sign}0.0000{lead}{frac}"
    return f"{sign}{lead}{'.' + frac if frac else ''}e-{exp}"


def _stdlib_text(value: Any) -> str:
    """What orjson writes, with the stdlib: compact, floats in orjson's form, NaN and infinities as null."""
    try:
        text = _dumps(value)
    except ValueError:  # NaN or infinity: not JSON, written as null (orjson's choice)
        text = ""
    if text and _PY_SMALL_FLOAT.search(text) is None:
        return text
    # Rare: put every odd float in through a placeholder string, then swap the number in.
    token = f"\x00{uuid.uuid4().hex}"
    numbers: list[str] = []

    def walk(v: Any) -> Any:
        if isinstance(v, float):
            if not math.isfinite(v):
                return None
            r = float.__repr__(v)
            if _PY_SMALL_FLOAT.search(r) is None:
                return v
            numbers.append(_float_text(r))
            return f"{token}{len(numbers) - 1}"
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(x) for x in v]
        return v

    text = _dumps(walk(value))
    quoted = re.escape(json.dumps(token)[:-1])
    return re.sub(quoted + r'(\d+)"', lambda m: numbers[int(m[1])], text)


def _stdlib_line(value: Any) -> bytes:
    text = _stdlib_text(value)
    try:
        return text.encode() + b"\n"
    except UnicodeEncodeError:  # a lone surrogate (legal in JSON text): escaped as \udXXX, read back the same
        return escape_surrogates(text).encode() + b"\n"


_SURROGATE = re.compile("[\ud800-\udfff]")


def escape_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as the six characters ``\\udXXX``, so it encodes as UTF-8.
    Inside JSON text that is the JSON escape of the same character (lossless); elsewhere it shows as that text
    (what :data:`OUTPUT_ERRORS` does to an output stream)."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def plain_values(value: Any) -> Any:
    """``value`` (dicts, lists, scalars) as any strict UTF-8 writer can take it, for outputs that encode it
    themselves (Parquet, MCP results): each string with :func:`escape_surrogates`, non-finite floats as None."""
    if isinstance(value, str):
        return escape_surrogates(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {plain_values(k): plain_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_values(v) for v in value]
    return value


def encode_json_line(value: Any) -> bytes:
    """``value`` as one line of compact JSON in UTF-8, with the newline.

    The same bytes with or without orjson (the ``fast`` extra, about 20 times quicker): non-ASCII as is, integers of
    any size, Decimals as strings, datetimes as RFC 3339 UTC (``Z``), floats in their shortest exact form (orjson's:
    ``1e-7``, ``0.000015``), NaN and infinities as ``null``, lone surrogates escaped. orjson writes the line unless
    it cannot (integers beyond 64 bits, lone surrogates, ...); the stdlib then writes what orjson would have.
    """
    if _orjson_dumps is not None:
        try:
            data: bytes = _orjson_dumps(value, default=json_default, option=_ORJSON_OPTIONS)
        except TypeError:  # integers beyond 64 bits, lone surrogates, non-string keys, deep nesting
            pass
        else:
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


W = TypeVar("W")


def run_json(run: Run, **kwargs: Any) -> str:
    """One run as strict JSON text (see :func:`json_text`); a payload nested too deeply for Python's JSON writer
    is a :class:`PayloadError` naming the run."""
    return _written(run, lambda data: json_text(data, default=json_default, **kwargs))


def run_line(run: Run) -> bytes:
    """One run as a JSON Lines line (:func:`encode_json_line`); too deep a payload is a :class:`PayloadError`."""
    return _written(run, encode_json_line)


def _written(run: Run, write: Callable[[dict[str, Any]], W]) -> W:
    """``write(dump_run(run))``. Python's JSON writer counts a payload's depth on top of the caller's stack: when
    that is too deep, the run is written again on a thread of its own (a stack of its own), so how deep a payload
    may be does not depend on where it is written from. Too deep even there: a :class:`PayloadError`."""
    data = dump_run(run)
    try:
        return write(data)
    except RecursionError:
        pass
    result: list[W] = []
    failed: list[BaseException] = []

    def fresh() -> None:
        try:
            result.append(write(data))
        except BaseException as exc:  # handed back to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=fresh, name="runtrack-deep-write")
    thread.start()
    thread.join()
    if result:
        return result[0]
    if isinstance(failed[0], RecursionError):
        raise _too_deep(run) from None
    raise failed[0]


def _too_deep(run: Run) -> PayloadError:
    return PayloadError(
        f"run {run.native_id!r} ({run.uid}): its vendor payload is nested too deeply to write as JSON",
        path="$.raw",
        platform=run.platform,
    )


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
    return b"".join([run_line(run) for run in runs])


def write_jsonl(runs: Iterable[Run], fp: IO[str]) -> int:
    """Write one JSON document per line; returns the number written."""
    count = 0
    for run in runs:
        fp.write(run_line(run).decode())
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
