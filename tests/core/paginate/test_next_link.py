"""`NextLink`: DRF pages that link to the next one."""

from __future__ import annotations

import pytest

from runtrack.errors import PaginationError
from runtrack.paginate import (
    HttpListing,
    NextLink,
    Request,
)

from .helpers import Server, collect, ident, listing


def test_next_link_follows_absolute_urls_and_drops_params() -> None:
    pages = {
        "items": {"count": 3, "next": "https://h/api/items?page=2&page_size=2", "previous": None, "results": [1, 2]},
        "https://h/api/items?page=2&page_size=2": {"count": 3, "next": None, "results": [3]},
    }
    server = Server(lambda req: pages[req.path])
    base = Request(path="items", params={"project": 5})
    assert collect(HttpListing(server, base, NextLink(), ident, page_size=2)) == [1, 2, 3]
    assert server.requests[0].params == {"project": 5, "page_size": 2}
    assert server.requests[1].params == {}


def test_next_link_accepts_a_plain_array() -> None:
    assert collect(listing(Server(lambda req: [1, 2]), NextLink())) == [1, 2]


def test_next_link_count_without_next_is_an_error() -> None:
    server = Server(lambda req: {"count": 10, "next": None, "results": [1, 2]})
    with pytest.raises(PaginationError, match="count=10"):
        collect(listing(server, NextLink()))
