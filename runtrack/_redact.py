"""Redaction of secrets from any text runtrack shows: error messages and fields, log lines, CLI output.

Every :class:`runtrack.http.Secret` (and every token an auth hands out) is registered here when it is made, so
an error built anywhere in the process is redacted without knowing which adapter's key it might echo. A secret
is redacted whole, and so is every piece of 8 or more characters of it that is not a plain run like
``00000000``: a token cut by an excerpt's end, or echoed in part by a server, does not show either.
"""

from __future__ import annotations

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
_index: _Index | None = None  # rebuilt on the first redaction after a registration


def register_secret(value: str) -> None:
    """Remember ``value`` as a secret of this process (the oldest are forgotten beyond a few hundred)."""
    global _index
    if len(value) < MIN_SECRET:
        return
    with _lock:
        if value in _registered:
            return
        _registered[value] = None
        while len(_registered) > _MAX_REGISTERED:
            del _registered[next(iter(_registered))]
        _index = None


def registered_secrets() -> list[str]:
    with _lock:
        return list(_registered)


_URL_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/@\s:'\"]*:)[^/@\s'\"]+@")

#: a piece of a secret is redacted on its own only when it has this many distinct characters: "00000000" or
#: "-0000-40" (from a test key or a UUID-like token) would otherwise redact ordinary ids and timestamps
MIN_DISTINCT = 5


class _Index:
    """What to look for: whole secrets, and every 8-character piece of them in one set (one look-up per position
    of the text, however many secrets there are)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.whole = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)
        self.pieces = frozenset(
            piece
            for s in self.whole
            for piece in (s[i : i + WINDOW] for i in range(len(s) - WINDOW + 1))
            if len(set(piece)) >= MIN_DISTINCT
        )


def _current_index() -> _Index:
    global _index
    index = _index
    if index is None:
        with _lock:
            index = _index = _Index(_registered)
    return index


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every registered secret, every one of ``secrets``, every piece of 8+ characters of them,
    and the password of any ``scheme://user:password@`` URL replaced by ``***``."""
    if not text:
        return text
    if "@" in text:  # a URL's password (a proxy's, a base URL's) is a secret wherever it shows
        text = _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text)
    indexes = [_current_index()]
    extra = [s for s in secrets if s not in _registered]
    if extra:
        indexes.append(_Index(extra))
    spans: list[tuple[int, int]] = []
    for index in indexes:
        for secret in index.whole:
            at = text.find(secret)
            while at >= 0:
                spans.append((at, at + len(secret)))
                at = text.find(secret, at + 1)
        pieces = index.pieces
        if len(pieces) < len(text):  # few secrets: search each piece (in C)
            for piece in pieces:
                at = text.find(piece)
                while at >= 0:
                    spans.append((at, at + WINDOW))
                    at = text.find(piece, at + 1)
        elif pieces:  # many: one set look-up per position of the text
            spans += [(i, i + WINDOW) for i in range(len(text) - WINDOW + 1) if text[i : i + WINDOW] in pieces]
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
