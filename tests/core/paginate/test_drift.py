"""Exactly once under offset drift: runs inserted at or removed from the head while an offset listing is read.

Both holes of the serial loop an independent test found are reproduced here: (a) 100 runs added at the head of a
1,000-run queue after the 5th page came back twice (the dedupe window remembered 4 pages), and (b) 3 runs leaving
the head after each page silently skipped runs that never left. Every scenario runs serially and with the window
of in-flight pages open.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from runtrack.errors import DriftError, PaginationError
from runtrack.paginate import HttpListing, OffsetLimit, Request, RunIterator

from .helpers import ident


class DriftingQueue:
    """An offset-paged queue that changes after each page it answers: ``change(n, data)`` after answer ``n``."""

    def __init__(self, size: int, change: Callable[[int, list[str]], None]) -> None:
        self.data = [f"r{i}" for i in range(size)]
        self.original = list(self.data)
        self.change = change
        self.answers = 0
        self.lock = threading.Lock()
        self.removed: set[str] = set()

    def __call__(self, req: Request) -> Any:
        with self.lock:
            offset, limit = int(req.params["offset"]), int(req.params["limit"])
            page = [{"id": x} for x in self.data[offset : offset + limit]]
            self.answers += 1
            before = set(self.data)
            self.change(self.answers, self.data)
            self.removed |= before - set(self.data)
            return page


def read(queue: DriftingQueue, concurrency: int, **kw: Any) -> tuple[list[str], RunIterator[Any]]:
    lst = HttpListing(
        queue,
        Request(path="q"),
        OffsetLimit(),
        ident,
        page_size=20,
        key=lambda x: x["id"],
        concurrency=concurrency,
        **kw,
    )
    it = RunIterator(lst, name="q")
    return [x["id"] for x in it], it


def insert_100_after_page(page: int) -> Callable[[int, list[str]], None]:
    def change(n: int, data: list[str]) -> None:
        if n == page:
            data[:0] = [f"new{i}" for i in range(100)]

    return change


def remove_3_after_each_page(n: int, data: list[str]) -> None:
    del data[:3]


@pytest.mark.parametrize("concurrency", [1, 4, 8])
@pytest.mark.parametrize("page", [5, 20])
def test_head_insertions_beyond_the_old_window_are_not_listed_twice(page: int, concurrency: int) -> None:
    queue = DriftingQueue(1000, insert_100_after_page(page))
    got, it = read(queue, concurrency)
    assert [x for x, c in Counter(got).items() if c > 1] == []
    assert set(queue.original) <= set(got)  # every run that existed throughout, exactly once
    assert it.duplicates > 0  # dropped and counted, never hidden
    if page == 20 and concurrency == 1:
        assert it.duplicates == 100  # the 100 runs shifted into pages already read, not the pages' overlap


@pytest.mark.parametrize("concurrency", [1, 4, 8])
def test_head_removals_skip_no_run_that_never_left(concurrency: int) -> None:
    queue = DriftingQueue(1000, remove_3_after_each_page)
    got, _ = read(queue, concurrency)
    assert [x for x, c in Counter(got).items() if c > 1] == []
    stayed = [x for x in queue.original if x not in queue.removed]
    assert [x for x in got if x in set(stayed)] == stayed  # all of them, in order


@pytest.mark.parametrize("concurrency", [1, 4])
def test_insertions_and_removals_mixed(concurrency: int) -> None:
    def churn(n: int, data: list[str]) -> None:
        if n % 3 == 0:
            data[:0] = [f"new{n}-{i}" for i in range(7)]
        else:
            del data[n % 5 : n % 5 + 4]

    queue = DriftingQueue(600, churn)
    got, _ = read(queue, concurrency)
    assert [x for x, c in Counter(got).items() if c > 1] == []
    stayed = [x for x in queue.original if x not in queue.removed]
    assert [x for x in got if x in set(stayed)] == stayed


def test_a_loss_that_cannot_be_repaired_is_a_typed_error_with_a_cursor() -> None:
    def landslide(n: int, data: list[str]) -> None:
        if n >= 20:
            del data[:400]  # far more than the listing may step back to find where it was

    queue = DriftingQueue(20_000, landslide)
    got: list[str] = []
    lst = HttpListing(
        queue, Request(path="q"), OffsetLimit(), ident, page_size=20, key=lambda x: x["id"], max_drift_repairs=2
    )
    it = RunIterator(lst, name="q")
    with pytest.raises(DriftError) as info:
        for x in it:
            got.append(x["id"])
    assert isinstance(info.value, PaginationError)
    assert info.value.cursor is not None
    assert "removed" in str(info.value)
    assert len(got) == len(set(got))


def test_no_drift_costs_no_extra_request_on_a_static_queue() -> None:
    # the overlap of one page with the next is the evidence of the end: 250 runs, 100 per page, 3 requests
    queue = DriftingQueue(250, lambda n, data: None)
    lst = HttpListing(queue, Request(path="q"), OffsetLimit(), ident, page_size=100, key=lambda x: x["id"])
    it = RunIterator(lst, name="q")
    assert [x["id"] for x in it] == queue.original
    assert queue.answers == 3
    assert it.duplicates == 0


@pytest.mark.parametrize("page_size", [5, 10, 100])
def test_removals_are_caught_at_every_overlapped_page_size(page_size: int) -> None:
    queue = DriftingQueue(600, remove_3_after_each_page)
    lst = HttpListing(queue, Request(path="q"), OffsetLimit(), ident, page_size=page_size, key=lambda x: x["id"])
    got = [x["id"] for x in RunIterator(lst, name="q")]
    stayed = [x for x in queue.original if x not in queue.removed]
    assert len(got) == len(set(got))
    assert [x for x in got if x in set(stayed)] == stayed
