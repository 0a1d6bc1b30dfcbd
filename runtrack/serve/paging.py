"""The server's listing cursors: one opaque string for a position in a sequence of adapter listings (every
configured scope of every selected source, one after another), bound to the request's filters.

A position is the listing's index, the adapter cursor that (re)fetches the page it is in, and how many items of
that page were already returned. Re-fetching a page with its own cursor (``Page.cursor``) and skipping what was
returned lets a page size chosen by the caller (``limit``) cut across the adapter's pages without losing or
repeating a run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

import attrs

from .problems import ServeError

__all__ = ["CURSOR_PREFIX", "Position", "decode_position", "encode_position", "fingerprint"]

CURSOR_PREFIX = "rts1."


@attrs.frozen
class Position:
    listing: int = 0  #: index into the request's listings (or, from a store, unused)
    cursor: str | None = None  #: adapter cursor of the page the position is in (from a store: the last uid returned)
    skip: int = 0  #: items of that page already returned
    #: the wire page size of the walk (the first call's ``limit`` unless the source configures one): re-fetching a
    #: page with its own cursor must give the same page, so it never changes with a later call's ``limit``
    page_size: int | None = None


def fingerprint(*parts: Any) -> str:
    """A short digest of the request's filters, so a cursor cannot be replayed against another request."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_position(position: Position, request: str) -> str:
    body = {"f": request, "l": position.listing, "c": position.cursor, "k": position.skip, "p": position.page_size}
    text = json.dumps(body, separators=(",", ":"), sort_keys=True)
    return CURSOR_PREFIX + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_position(cursor: str, request: str, listings: int) -> Position:
    """The position in ``cursor``; a foreign, damaged or replayed-elsewhere cursor is a 400 saying so."""
    if not cursor.startswith(CURSOR_PREFIX):
        raise ServeError(f"cursor: not a cursor of this server (expected one starting with {CURSOR_PREFIX!r})")
    text = cursor[len(CURSOR_PREFIX) :]
    try:
        body = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        size = body.get("p")
        position = Position(
            listing=int(body["l"]), cursor=body["c"], skip=int(body["k"]), page_size=None if size is None else int(size)
        )
        made_for = body["f"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ServeError("cursor: damaged (pass next_cursor exactly as it was returned)") from None
    if made_for != request:
        raise ServeError("cursor: it belongs to another request; repeat the same source, scope and filters with it")
    if not 0 <= position.listing < max(listings, 1) or position.skip < 0 or (position.page_size or 1) < 1:
        raise ServeError("cursor: out of range for this request (the configuration changed?)")
    if position.cursor is not None and not isinstance(position.cursor, str):
        raise ServeError("cursor: damaged (pass next_cursor exactly as it was returned)")
    return position
