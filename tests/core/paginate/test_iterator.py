"""`RunIterator` and cursors: max_items, resume, single pass."""

from __future__ import annotations

import pytest

from runtrack.errors import PaginationError
from runtrack.paginate import (
    PageToken,
    RunIterator,
    decode_cursor,
    encode_cursor,
)

from .helpers import listing, token_server


def test_max_items_then_resume_mid_page_without_loss_or_duplicates() -> None:
    items = [{"id": i} for i in range(10)]
    pages = {
        None: {"data": items[:4], "nextPageToken": "a"},
        "a": {"data": items[4:8], "nextPageToken": "b"},
        "b": {"data": items[8:]},
    }
    first = RunIterator(listing(token_server(pages), PageToken()), name="t", max_items=6)
    got = list(first)
    assert got == items[:6]
    assert first.last_cursor is not None
    rest = list(RunIterator(listing(token_server(pages), PageToken()), name="t", cursor=first.last_cursor))
    assert got + rest == items


def test_max_items_zero_and_negative() -> None:
    server = token_server({None: {"data": [1]}})
    assert list(RunIterator(listing(server, PageToken()), name="t", max_items=0)) == []
    assert server.requests == []
    with pytest.raises(ValueError, match="max_items"):
        RunIterator(listing(server, PageToken()), name="t", max_items=-1)


def test_cursor_round_trip_and_validation() -> None:
    cursor = encode_cursor({"s": 100}, listing="a")
    assert cursor.startswith("rt1.")
    assert decode_cursor(cursor, listing="a") == {"s": 100}
    with pytest.raises(PaginationError, match="belongs to the listing 'a'"):
        decode_cursor(cursor, listing="b")
    with pytest.raises(PaginationError, match="not a runtrack cursor"):
        decode_cursor("abc", listing="a")
    with pytest.raises(PaginationError, match="corrupt"):
        decode_cursor("rt1.!!!", listing="a")


def test_single_pass_and_lazy() -> None:
    server = token_server({None: {"data": [1]}})
    it = RunIterator(listing(server, PageToken()), name="t")
    assert server.requests == []
    assert list(it) == [1]
    with pytest.raises(RuntimeError, match="already iterated"):
        list(it)


def test_pages_carry_cursor_and_next_cursor() -> None:
    server = token_server({None: {"data": [1], "nextPageToken": "a"}, "a": {"data": [2]}})
    pages = list(RunIterator(listing(server, PageToken()), name="t").pages())
    assert [p.items for p in pages] == [(1,), (2,)]
    assert pages[0].next_cursor == pages[1].cursor
    assert pages[1].next_cursor is None
