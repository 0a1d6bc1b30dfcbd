"""The sync's read-ahead: the listing is read on a thread, pages come back in order, grouped as they arrived,
within a budget of runs, with a listing error after the pages before it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from runtrack.paginate import Page
from runtrack.store.ahead import batches


def _pages(n: int, size: int = 3) -> list[Page[int]]:
    return [
        Page(items=list(range(k * size, (k + 1) * size)), cursor=str(k), next_cursor=None if k == n - 1 else str(k))
        for k in range(n)
    ]


def test_pages_come_back_in_order_grouped_within_the_budget() -> None:
    pages = _pages(12)
    out = list(batches(iter(pages), budget=7))
    assert [p for batch in out for p in batch] == pages
    assert all(batch for batch in out)
    # the reader stops adding once 7 runs wait: a batch holds fewer than 7 + one page
    assert all(sum(len(p.items) for p in batch) < 7 + 3 for batch in out)


def test_the_listing_is_read_on_another_thread() -> None:
    readers: set[str] = set()

    def listing() -> Iterator[Page[int]]:
        for page in _pages(3):
            readers.add(threading.current_thread().name)
            yield page

    assert len([p for b in batches(listing()) for p in b]) == 3
    assert readers == {"runtrack-sync-reader"}


def test_a_listing_error_comes_after_the_pages_before_it() -> None:
    def listing() -> Iterator[Page[int]]:
        yield from _pages(4)[:2]
        raise ValueError("page 3 is broken")

    got: list[Page[int]] = []
    with pytest.raises(ValueError, match="page 3 is broken"):
        for batch in batches(listing(), budget=1):
            got.extend(batch)
    assert got == _pages(4)[:2]


def test_closing_stops_the_reader_and_closes_the_listing() -> None:
    closed = threading.Event()
    read = [0]

    def endless() -> Iterator[Page[int]]:
        try:
            while True:
                read[0] += 1
                yield Page(items=[read[0]], cursor=None, next_cursor=str(read[0]))
        finally:
            closed.set()

    it = batches(endless(), budget=5)
    first = next(it)
    assert first and first[0].items == [1]
    it.close()
    assert closed.wait(10)  # the reader left the listing at its next page (and closed it) instead of reading on
