"""Redaction of secrets from any text runtrack shows: error messages and fields, log lines, CLI output.

Every :class:`runtrack.http.Secret` (and every token an auth hands out) is registered here when it is made, so
an error built anywhere in the process is redacted without knowing which adapter's key it might echo. A secret
is redacted whole, and so is every piece of 8 or more characters of it that is not a plain run like
``00000000``: a token cut by an excerpt's end, or echoed in part by a server, does not show either.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable

__all__ = ["LOOKS_LIKE_A_KEY", "REDACTED", "WINDOW", "looks_like_secret", "redact", "register_secret"]

REDACTED = "***"
#: the shortest piece of a secret that is redacted on its own
WINDOW = 8
#: shorter values are not secrets worth hiding (and would redact ordinary words)
MIN_SECRET = 4
_MAX_REGISTERED = 256

_registered: dict[str, None] = {}
_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Remember ``value`` as a secret of this process (the oldest are forgotten beyond a few hundred)."""
    if len(value) < MIN_SECRET:
        return
    with _lock:
        _registered.pop(value, None)
        _registered[value] = None
        while len(_registered) > _MAX_REGISTERED:
            del _registered[next(iter(_registered))]


def registered_secrets() -> list[str]:
    with _lock:
        return list(_registered)


_URL_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/@\s:'\"]*:)[^/@\s'\"]+@")

#: a piece of a secret is redacted on its own only when it has this many distinct characters: "00000000" or
#: "-0000-40" (from a test key or a UUID-like token) would otherwise redact ordinary ids and timestamps
MIN_DISTINCT = 5


@functools.lru_cache(maxsize=1024)
def _pieces(secret: str) -> tuple[str, ...]:
    if len(secret) <= WINDOW:
        return (secret,)
    windows = {secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)}
    return (secret, *sorted(w for w in windows if len(set(w)) >= MIN_DISTINCT))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every registered secret, every one of ``secrets``, every piece of 8+ characters of them,
    and the password of any ``scheme://user:password@`` URL replaced by ``***``."""
    if not text:
        return text
    if "@" in text:  # a URL's password (a proxy's, a base URL's) is a secret wherever it shows
        text = _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text)
    spans: list[tuple[int, int]] = []
    for secret in {*registered_secrets(), *secrets}:
        if len(secret) < MIN_SECRET:
            continue
        for piece in _pieces(secret):
            at = text.find(piece)
            while at >= 0:
                spans.append((at, at + len(piece)))
                at = text.find(piece, at + 1)
    if not spans:
        return text
    spans.sort()
    out: list[str] = []
    pos = 0
    start, end = spans[0]
    for s, e in spans[1:]:
        if s <= end:
            end = max(end, e)
            continue
        out += [text[pos:start], REDACTED]
        pos, start, end = end, s, e
    out += [text[pos:start], REDACTED, text[end:]]
    return "".join(out)


LOOKS_LIKE_A_KEY = (
    "this looks like a key, not a variable name (not shown): put the key in an environment variable and give "
    "the variable's NAME here"
)
#: vendor prefixes of API keys and tokens (LangSmith, OpenAI-style, GitHub, Slack, JWTs)
_KEY_PREFIXES = ("lsv2_", "ls__", "sk-", "ghp_", "github_pat_", "xox", "eyj")
_HEX = re.compile(r"[0-9a-fA-F]{20,}")


def looks_like_secret(text: str) -> bool:
    """Whether ``text``, given where a variable NAME belongs, is rather a credential: a vendor prefix, a JWT, a
    long hex string, or a long mix of upper case, lower case and digits (variable names are not written so)."""
    value = text.strip()
    if value.lower().startswith(_KEY_PREFIXES) or value.count(".") == 2 or _HEX.fullmatch(value):
        return True
    mixed = any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value)
    return len(value) >= 20 and mixed
