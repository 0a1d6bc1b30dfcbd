"""Cursor strings and the typed shapes of the states inside them.

A cursor is ``rt1.`` + URL-safe base64 of ``{"l": listing name, "s": state}``. States are plain JSON values so a
cursor survives a process restart; their shapes are the :class:`LeafState` of an HTTP listing, the
:class:`FanOutState` of a fan-out (which nests the container listing's state and the inner listing's state) and
whatever an adapter's own listing adds (LangSmith tags states with the endpoint). The one-letter keys are the wire
format of every cursor ever handed out, so they stay; the TypedDicts below give them names and types.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypedDict

from ..errors import PaginationError

__all__ = [
    "CURSOR_PREFIX",
    "FanOutState",
    "LeafState",
    "State",
    "decode_cursor",
    "encode_cursor",
    "fan_out_state",
    "leaf_state",
    "read_leaf_state",
]

#: A JSON value: int, str, None, list or dict of those (the state of some listing).
State = Any

CURSOR_PREFIX = "rt1."


class LeafState(TypedDict, total=False):
    """Where an :class:`~runtrack.paginate.HttpListing` is: ``s`` the strategy's state of a page (offset, token,
    ``[next link, items seen]``, None for the first page), ``k`` raw items of that page already delivered."""

    s: Any
    k: int


class FanOutState(TypedDict, total=False):
    """Where a :class:`~runtrack.paginate.FanOut` is: ``o`` the container listing's page state, ``i`` the
    container's index in that page, ``c`` its id (to find it again when containers moved), ``n`` the inner
    listing's state (None: the container's beginning)."""

    o: Any
    i: int
    c: str | None
    n: Any


def leaf_state(strategy_state: Any, skip: int = 0) -> LeafState:
    """The state of the page at ``strategy_state``, ``skip`` raw items in (``k`` only when non-zero)."""
    return {"s": strategy_state, "k": skip} if skip else {"s": strategy_state}


def fan_out_state(outer: Any, index: int, container: str | None, inner: Any = None) -> FanOutState:
    """The state of container ``index`` (id ``container``) of the container page at ``outer``, at ``inner``."""
    return {"o": outer, "i": index, "c": container, "n": inner}


def read_leaf_state(state: State) -> tuple[Any, int]:
    """``(strategy state, skip)`` of a :class:`LeafState` (None: the beginning)."""
    if state is None:
        return None, 0
    if not isinstance(state, dict) or "s" not in state:
        raise PaginationError("cursor does not fit this listing (corrupt or from another version)")
    return state["s"], int(state.get("k", 0))


def encode_cursor(state: State, *, listing: str) -> str:
    """An opaque, versioned, URL-safe cursor string for ``state`` of the listing named ``listing``."""
    body = json.dumps({"l": listing, "s": state}, separators=(",", ":"), sort_keys=True)
    return CURSOR_PREFIX + base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, listing: str) -> State:
    """The state inside ``cursor``; a cursor of another version or another listing is a clear error."""
    if not isinstance(cursor, str) or not cursor.startswith(CURSOR_PREFIX):
        raise PaginationError(f"not a runtrack cursor (expected a string starting with {CURSOR_PREFIX!r})")
    text = cursor[len(CURSOR_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise PaginationError("corrupt runtrack cursor (it does not decode)") from None
    if not isinstance(data, dict) or "s" not in data:
        raise PaginationError("corrupt runtrack cursor (no state)")
    if data.get("l") != listing:
        raise PaginationError(
            f"this cursor belongs to the listing {data.get('l')!r}, not {listing!r}: "
            "resume with the same adapter, instance and scope"
        )
    return data["s"]
