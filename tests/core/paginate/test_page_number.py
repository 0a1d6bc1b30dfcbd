"""`PageNumber`: 1-based page numbers with the listing's total in the body."""

from __future__ import annotations

import pytest

from runtrack.errors import PayloadError
from runtrack.paginate import PageNumber, Request

from .helpers import Server, collect, listing

TASKS = PageNumber(items_field="tasks")


def _pages(total: int) -> Server:
    def answer(req: Request) -> object:
        page, per = int(req.params["page"]), int(req.params["page_size"])
        start = (page - 1) * per
        return {"total": total, "tasks": list(range(start, min(start + per, total)))}

    return Server(answer)


@pytest.mark.parametrize(("total", "requests"), [(6, 2), (7, 3), (0, 1)])
def test_page_number_stops_at_the_total_without_asking_past_the_end(total: int, requests: int) -> None:
    server = _pages(total)
    assert collect(listing(server, TASKS, page_size=3)) == list(range(total))
    assert len(server.requests) == requests  # a page past the end is a 404 on Label Studio
    assert server.requests[0].params == {"page": 1, "page_size": 3}
    assert TASKS.total({"total": 7}) == 7
    assert TASKS.total({"total": True}) is None


def test_page_number_without_its_items_array_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="tasks"):
        collect(listing(Server(lambda req: {"results": []}), TASKS))
