"""`HttpListing`, the one loop: bounds and item errors."""

from __future__ import annotations

from typing import Any

import pytest

from runtrack.errors import PaginationError, PayloadError, ServerError
from runtrack.paginate import (
    HttpListing,
    PageToken,
    Request,
    RunIterator,
    decode_cursor,
)

from .helpers import Server, collect, listing, token_server


def test_endless_empty_pages_stop() -> None:
    counter = iter(range(10**6))
    server = Server(lambda req: {"data": [], "nextPageToken": f"t{next(counter)}"})
    with pytest.raises(PaginationError, match="empty pages"):
        collect(listing(server, PageToken(), max_empty_pages=5))
    assert len(server.requests) == 5


def test_page_budget() -> None:
    counter = iter(range(10**6))
    server = Server(lambda req: {"data": [1], "nextPageToken": f"t{next(counter)}"})
    with pytest.raises(PaginationError, match="budget of 3"):
        collect(listing(server, PageToken(), max_pages=3))


def test_parse_error_names_the_item_path() -> None:
    def parse(item: Any) -> Any:
        if item == "bad":
            raise PayloadError("invalid datetime 'bad'", path="$.start_time")
        return item

    server = token_server({None: {"data": [1, 2], "nextPageToken": "a"}, "a": {"data": [3, "bad"]}})
    lst = HttpListing(server, Request(path="x"), PageToken(), parse)
    it = RunIterator(lst, name="t")
    with pytest.raises(PayloadError) as info:
        list(it)
    assert info.value.path == "$.data[1].start_time"
    assert "at $.data[1].start_time" in str(info.value)
    # the cursor re-fetches the failing page
    assert decode_cursor(info.value.cursor or "", listing="t") == {"s": "a"}


def test_transport_error_gets_the_cursor_of_the_failed_page() -> None:
    def answer(req: Request) -> Any:
        if req.params.get("pageToken") == "a":
            raise ServerError("boom", status_code=503)
        return {"data": [1], "nextPageToken": "a"}

    it = RunIterator(listing(Server(answer), PageToken()), name="t")
    with pytest.raises(ServerError) as info:
        list(it)
    assert decode_cursor(info.value.cursor or "", listing="t") == {"s": "a"}
