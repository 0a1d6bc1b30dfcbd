"""One iterator interface over every pagination style.

Pieces, from the wire up, one module per job:

* :mod:`.strategies`: a :class:`Strategy` per style decides the next request, the end and the total from the last
  response; it never does I/O (:class:`OffsetLimit`, :class:`PageToken` for query, body and cursor-in-body tokens,
  :class:`NextLink`, :class:`PageNumber`, :class:`Unpaginated`);
* :mod:`.loop`: :class:`HttpListing` is the ONE loop: it owns the HTTP calls, end detection, the loop guard, the
  page budget, exactly-once under drift and item mapping, and yields :class:`RawPage` objects whose states are
  plain JSON values;
* :mod:`.fanout`: :class:`FanOut` walks containers lazily (every queue, then its runs); its state nests the
  container listing's state and the inner listing's state, so resuming works across containers;
* :mod:`.cursors`: the typed state shapes and the opaque, versioned cursor strings;
* :mod:`.iterator`: :class:`RunIterator` is what users get: lazy, single pass, ``max_items``, :class:`Page` objects
  with cursors that survive a process restart, and the resume cursor on every error.

``Request`` lives in :mod:`runtrack.http`; ``runtrack.paginate.Request`` is the same class.
"""

from __future__ import annotations

from ..http import Request
from .cursors import CURSOR_PREFIX, FanOutState, LeafState, State, decode_cursor, encode_cursor
from .fanout import FanOut
from .iterator import RunIterator
from .loop import HttpListing
from .pages import END, Listing, Page, RawPage, SkippedItem, StaticListing
from .strategies import NextLink, OffsetLimit, PageNumber, PageToken, Strategy, Unpaginated

__all__ = [
    "CURSOR_PREFIX",
    "END",
    "FanOut",
    "FanOutState",
    "HttpListing",
    "LeafState",
    "Listing",
    "NextLink",
    "OffsetLimit",
    "Page",
    "PageNumber",
    "PageToken",
    "RawPage",
    "Request",
    "RunIterator",
    "SkippedItem",
    "State",
    "StaticListing",
    "Strategy",
    "Unpaginated",
    "decode_cursor",
    "encode_cursor",
]
