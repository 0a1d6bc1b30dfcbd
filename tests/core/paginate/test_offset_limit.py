"""`OffsetLimit`: offset/limit paging."""

from __future__ import annotations

from typing import Any

import pytest

from runtrack.paginate import (
    OffsetLimit,
    Request,
    RunIterator,
)

from .helpers import Server, collect, listing, offset_server


@pytest.mark.parametrize("total", [0, 1, 99, 100, 101, 200, 250])
def test_offset_ends_on_short_or_empty_page(total: int) -> None:
    items = [{"id": i} for i in range(total)]
    server = offset_server(items)
    got = collect(listing(server, OffsetLimit(), page_size=100, key=lambda x: x["id"]))
    assert got == items
    # an exact multiple of the page size needs one more (empty) page as evidence of the end
    expected_requests = total // 100 + 1
    assert len(server.requests) == expected_requests


def test_offset_page_size_is_clamped() -> None:
    server = offset_server([{"id": i} for i in range(5)])
    collect(listing(server, OffsetLimit(), page_size=1000, max_page_size=100, key=lambda x: x["id"]))
    assert server.requests[0].params["limit"] == 100
    server = offset_server([])
    collect(listing(server, OffsetLimit(), page_size=0, max_page_size=100))
    assert server.requests[0].params["limit"] == 1


def test_offset_drift_duplicates_are_dropped_and_counted() -> None:
    # Two new items are inserted at the head after the first page: page 2 repeats two items of page 1.
    data = [{"id": f"r{i}"} for i in range(6)]

    def answer(req: Request) -> Any:
        offset = int(req.params["offset"])
        current = data if offset == 0 else [{"id": "new1"}, {"id": "new2"}, *data]
        return current[offset : offset + 3]

    it = RunIterator(listing(Server(answer), OffsetLimit(), page_size=3, key=lambda x: x["id"]), name="t")
    got = [x["id"] for x in it]
    assert got == ["r0", "r1", "r2", "r3", "r4", "r5"]
    assert it.duplicates == 2


def test_offset_total_field_ends_without_an_extra_request() -> None:
    pages = {0: {"items": [1, 2], "total": 3}, 2: {"items": [3], "total": 3}}
    server = Server(lambda req: pages[int(req.params["offset"])])
    got = collect(
        listing(server, OffsetLimit(items_field="items", total_field="total", short_page_ends=False), page_size=2)
    )
    assert got == [1, 2, 3]
    assert len(server.requests) == 2
