"""FastAPI/pydantic-v2 style parameter validation, for the LangSmith fake's 422 bodies."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any

from runtrack.testing._server import Request, Response

_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


class Invalid(Exception):
    """Parameter validation failed; ``response`` is the 422 answer."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors

    @property
    def response(self) -> Response:
        """``422 {"detail": [...]}`` as FastAPI sends it."""
        return Response.json({"detail": self.errors}, 422)


def is_uuid(value: str) -> bool:
    """Whether ``value`` parses as a UUID."""
    return _UUID_RE.match(value) is not None


def uuid_error(loc: list[str | int], value: Any) -> dict[str, Any]:
    """The pydantic error entry for a bad UUID."""
    return {
        "type": "uuid_parsing",
        "loc": loc,
        "msg": "Input should be a valid UUID, invalid length: expected length 32 for simple format",
        "input": value,
        "ctx": {"error": "invalid length: expected length 32 for simple format"},
    }


def canonical_uuid(value: str) -> str:
    """Lower-case hyphenated form."""
    return str(uuid.UUID(value))


class Query:
    """Reads query parameters, collecting pydantic-style errors; call :meth:`check` at the end."""

    def __init__(self, req: Request) -> None:
        self.req = req
        self.errors: list[dict[str, Any]] = []

    def _err(self, type_: str, name: str, msg: str, value: Any, ctx: dict[str, Any] | None = None) -> None:
        entry: dict[str, Any] = {"type": type_, "loc": ["query", name], "msg": msg, "input": value}
        if ctx is not None:
            entry["ctx"] = ctx
        self.errors.append(entry)

    def integer(self, name: str, default: int | None, ge: int | None = None, le: int | None = None) -> int | None:
        """An integer parameter with bounds."""
        raw = self.req.q(name)
        if raw is None:
            return default
        try:
            value = int(raw.strip())
        except ValueError:
            msg = "Input should be a valid integer, unable to parse string as an integer"
            self._err("int_parsing", name, msg, raw)
            return default
        if ge is not None and value < ge:
            self._err("greater_than_equal", name, f"Input should be greater than or equal to {ge}", raw, {"ge": ge})
        elif le is not None and value > le:
            self._err("less_than_equal", name, f"Input should be less than or equal to {le}", raw, {"le": le})
        return value

    def offset_limit(self, maximum: int) -> tuple[int, int]:
        """``offset`` (from 0) and ``limit`` (1..``maximum``, default ``maximum``), as LangSmith's list endpoints
        read them."""
        offset = self.integer("offset", 0, ge=0) or 0
        limit = self.integer("limit", maximum, ge=1, le=maximum) or maximum
        return offset, limit

    def boolean(self, name: str) -> bool | None:
        """An optional boolean parameter."""
        raw = self.req.q(name)
        if raw is None:
            return None
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        self._err("bool_parsing", name, "Input should be a valid boolean, unable to interpret input", raw)
        return None

    def choice(self, name: str, allowed: tuple[str, ...], required: bool = False) -> str | None:
        """A string parameter restricted to ``allowed``."""
        raw = self.req.q(name)
        if raw is None:
            if required:
                self.errors.append({"type": "missing", "loc": ["query", name], "msg": "Field required", "input": None})
            return None
        if raw not in allowed:
            expected = ", ".join(f"'{a}'" for a in allowed[:-1]) + f" or '{allowed[-1]}'"
            self._err("enum", name, f"Input should be {expected}", raw, {"expected": expected})
            return None
        return raw

    def datetime_us(self, name: str) -> int | None:
        """An ISO-8601 datetime parameter as UTC microseconds (naive means UTC)."""
        raw = self.req.q(name)
        if raw is None or raw == "":
            return None
        parsed = parse_datetime_us(raw)
        if parsed is None:
            self._err(
                "datetime_from_date_parsing",
                name,
                "Input should be a valid datetime or date, invalid character in year",
                raw,
                {"error": "invalid character in year"},
            )
        return parsed

    def check(self) -> None:
        """Raise :class:`Invalid` if any parameter was bad."""
        if self.errors:
            raise Invalid(self.errors)


def parse_datetime_us(raw: str) -> int | None:
    """ISO-8601 (``Z``, offset or naive = UTC) to unix microseconds; None if unparseable."""
    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
