"""`PageToken`: continuation tokens in the query or the body."""

from __future__ import annotations

from typing import Any

import pytest

from runtrack.errors import PaginationError, PayloadError
from runtrack.paginate import (
    HttpListing,
    PageToken,
    Request,
    RunIterator,
)

from .helpers import Server, collect, ident, listing, token_server


def test_token_continues_through_empty_pages_and_ends_on_empty_string() -> None:
    server = token_server(
        {
            None: {"data": [1], "nextPageToken": "a"},
            "a": {"data": [], "nextPageToken": "b"},
            "b": {"data": None, "nextPageToken": "c"},
            "c": {"nextPageToken": "d"},
            "d": {"data": [2], "nextPageToken": ""},
        }
    )
    assert collect(listing(server, PageToken())) == [1, 2]


def test_token_absent_or_null_ends() -> None:
    for last in ({"data": [2]}, {"data": [2], "nextPageToken": None}):
        server = token_server({None: {"data": [1], "nextPageToken": "a"}, "a": last})
        assert collect(listing(server, PageToken())) == [1, 2]


def test_repeated_token_raises_with_resume_cursor() -> None:
    server = token_server(
        {
            None: {"data": [1], "nextPageToken": "a"},
            "a": {"data": [2], "nextPageToken": "b"},
            "b": {"data": [3], "nextPageToken": "a"},
        }
    )
    got: list[Any] = []
    with pytest.raises(PaginationError, match="repeated") as info:
        for item in RunIterator(listing(server, PageToken()), name="t"):
            got.append(item)
    assert got == [1, 2]  # the page with the repeated continuation is not delivered...
    assert len(server.requests) == 3  # never loops
    # ...its cursor re-fetches it: once the server behaves, the resume delivers every item exactly once
    fixed = token_server({"b": {"data": [3]}})
    assert list(RunIterator(listing(fixed, PageToken()), name="t", cursor=info.value.cursor)) == [3]
    assert [r.params.get("pageToken") for r in fixed.requests] == ["b"]


def test_token_in_json_body() -> None:
    def answer(req: Request) -> Any:
        cursor = (req.json or {}).get("cursor")
        return {"runs": [cursor or "first"], "cursors": {"next": None if cursor else "c1"}}

    server = Server(answer)
    lst = HttpListing(
        server,
        Request(method="POST", path="runs/query", json={"filter": "x"}),
        PageToken(
            next_path=("cursors", "next"), token_param="cursor", size_param="limit", items_field="runs", token_in="json"
        ),
        ident,
        page_size=10,
    )
    assert collect(lst) == ["first", "c1"]
    assert server.requests[1].json == {"filter": "x", "limit": 10, "cursor": "c1"}


def test_has_more_without_token_is_an_error() -> None:
    server = Server(lambda req: {"data": [1], "has_more": True})
    with pytest.raises(PaginationError, match="has_more"):
        collect(listing(server, PageToken(has_more_path=("has_more",))))


def test_non_string_token_is_a_payload_error() -> None:
    server = Server(lambda req: {"data": [1], "nextPageToken": 7})
    with pytest.raises(PayloadError, match=r"\$.nextPageToken"):
        collect(listing(server, PageToken()))
