"""Parsers of ``connect()`` option values: each takes what a user may write (Python value, TOML value, CLI or
environment string) and returns the checked value, or raises ``ValueError`` saying what is wrong.

They run when an adapter is built and when a configuration file is loaded, so a bad value is a configuration
error before anything is read. A :class:`HiddenValueError` means the value must not be shown in the message.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "HiddenValueError",
    "parse_base_url",
    "parse_bool",
    "parse_ca_bundle",
    "parse_int",
    "parse_positive_number",
    "parse_timeout",
]

_CONTROL_OR_SPACE = re.compile(r"[\s\x00-\x1f\x7f]")
USERINFO_REFUSED = (
    "credentials in the URL (user:password@host) are refused (they would show in every run's instance, uid "
    "and cursor): give the key as api_key (api_key_env in a configuration file)"
)


class HiddenValueError(ValueError):
    """An invalid value that may hold a secret: the message must not repeat it."""


def parse_positive_number(value: Any) -> float:
    """A finite number > 0 (a number, or a string of one)."""
    if isinstance(value, bool):
        raise ValueError("expected a number of seconds, got a boolean")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number of seconds, got {_kind(value)}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError("must be a finite number > 0")
    return number


def parse_timeout(value: Any) -> float | tuple[float, float]:
    """Seconds, or ``(connect, read)``; ``"3,60"`` is the pair written as a string."""
    if isinstance(value, str) and "," in value:
        value = value.split(",")
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError("expected seconds or a pair (connect, read)")
        return (parse_positive_number(value[0]), parse_positive_number(value[1]))
    return parse_positive_number(value)


def parse_int(value: Any, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number in ``[minimum, maximum]`` (an int, an integral float, or a string of digits)."""
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"expected an integer, got {_kind(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ValueError(f"must be {bounds}, got {value}")
    return value


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def parse_base_url(value: Any) -> str:
    """An http(s) URL with a host (a bare host means ``https://HOST``); surrounding whitespace is dropped, and
    whitespace or control characters inside, or credentials (``user:pw@``), are refused."""
    if not isinstance(value, str):
        raise ValueError(f"expected a URL string, got {_kind(value)}")
    text = value.strip()
    if _CONTROL_OR_SPACE.search(text):
        if "@" in text:
            raise HiddenValueError(USERINFO_REFUSED)
        raise ValueError("a URL cannot contain whitespace or control characters")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if "@" in parts.netloc:
        raise HiddenValueError(USERINFO_REFUSED)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise ValueError("the port is not a number between 0 and 65535") from None
    if not parts.hostname:
        raise ValueError("the URL has no host")
    return text.rstrip("/")


def parse_ca_bundle(value: Any) -> str:
    """A CA bundle file (PEM) or a directory of certificates that exists."""
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise ValueError(f"expected the path of a CA bundle file or directory, got {_kind(value)}")
    path = os.path.expanduser(str(value).strip())
    if not os.path.exists(path):
        raise ValueError(f"no such file or directory: {path}")
    return path


def _kind(value: Any) -> str:
    return repr(value) if isinstance(value, (int, float, str)) and len(str(value)) <= 40 else type(value).__name__
