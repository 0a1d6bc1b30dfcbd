"""Every listing is bounded (issue 15 item 9): pages already listed, a page budget, with typed errors and cursors."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from runtrack.errors import PaginationError
from runtrack.paginate import HttpListing, NextLink, OffsetLimit, PageToken, Request, RunIterator
from runtrack.paginate import seen as seen_module
from runtrack.paginate.loop import DEFAULT_MAX_PAGES
from runtrack.paginate.seen import SeenIds

from .helpers import Server, ident


def test_fresh_tokens_with_the_same_items_stop_at_the_first_repeated_page() -> None:
    tokens = itertools.count()
    server = Server(lambda req: {"data": [{"id": i} for i in range(10)], "nextPageToken": f"t{next(tokens)}"})
    got: list[Any] = []
    with pytest.raises(PaginationError, match="listed before") as info:
        for item in RunIterator(
            HttpListing(server, Request(path="t"), PageToken(), ident, key=lambda x: x["id"]), name="t"
        ):
            got.append(item)
    assert len(got) == 10  # each item once
    assert len(server.requests) <= 3  # not 301
    assert info.value.cursor is not None


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_server_that_ignores_the_offset_stops_with_a_pagination_error(concurrency: int) -> None:
    server = Server(lambda req: [{"id": i} for i in range(20)])
    lst = HttpListing(
        server, Request(path="q"), OffsetLimit(), ident, page_size=20, key=lambda x: x["id"], concurrency=concurrency
    )
    got: list[Any] = []
    with pytest.raises(PaginationError, match="ignore the offset") as info:
        for item in RunIterator(lst, name="q"):
            got.append(item)
    assert len(got) == 20
    assert len(server.requests) <= 4 + 8
    assert info.value.cursor is not None


def test_every_listing_has_a_page_budget_that_ends_an_endless_series_with_a_cursor() -> None:
    def endless(req: Request) -> Any:
        n = int(req.params.get("pageToken") or 0)
        return {"data": [{"id": n}], "nextPageToken": str(n + 1)}

    def listing(**kw: Any) -> HttpListing[Any]:
        return HttpListing(Server(endless), Request(path="t"), PageToken(), ident, key=lambda x: x["id"], **kw)

    assert listing().max_pages == DEFAULT_MAX_PAGES  # on by default
    got: list[Any] = []
    with pytest.raises(PaginationError, match="page budget of 5 pages") as info:
        for item in RunIterator(listing(max_pages=5), name="t"):
            got.append(item["id"])
    assert got == [0, 1, 2, 3, 4]
    assert "max_pages" in str(info.value)
    resumed = RunIterator(listing(max_pages=2), name="t", cursor=info.value.cursor)
    assert [p.items for p in itertools.islice(resumed.pages(), 2)] == [({"id": 5},), ({"id": 6},)]


def test_seen_ids_remember_every_id() -> None:
    seen = SeenIds()
    digests = [SeenIds.digest(f"run-{i}") for i in range(20_000)]
    for d in digests[:10_000]:
        seen.add(d)
    assert all(d in seen for d in digests[:10_000])
    assert not any(d in seen for d in digests[10_000:])
    assert len(seen) == 10_000


def test_seen_ids_claim_pages_across_many_merges_exactly_as_a_set_would(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages claimed one after another, the set compacted into the sorted array many times on the way (a small
    threshold here): each digest is new exactly once, whether it comes again in the same page, the next, or
    30,000 ids later."""
    monkeypatch.setattr(seen_module, "_SET_IDS", 512)
    rng = random.Random(7)
    seen, reference = SeenIds(), set()
    for page in range(400):
        ids = [rng.randrange(60_000) for _ in range(100)]
        digests = [SeenIds.digest(f"run-{i}") for i in ids]
        kept, leading = seen.claim(digests)
        expected = []
        for index, digest in enumerate(digests):
            if digest not in reference:
                reference.add(digest)
                expected.append(index)
        assert kept == expected, page
        assert leading == (expected[0] if expected else len(digests))
    assert len(seen) == len(reference) and len(seen._sorted) > 20_000  # most of them went through compactions


def test_seen_ids_stay_a_set_for_a_small_listing_and_compact_for_a_large_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Up to _SET_IDS ids a plain set (the fastest); past it, the sorted array behind a filter that is rebuilt twice
    as large as the listing grows. Every id stays a member, ids never added stay out (the filter only spares
    lookups, it never answers "seen")."""
    digests = [SeenIds.digest(f"run-{i}") for i in range(200_000)]
    small = SeenIds()
    assert small.claim(digests[:100_000]) == (list(range(100_000)), 0)
    assert len(small._sorted) == 0 and len(small) == 100_000  # no compaction below 131,072 ids

    monkeypatch.setattr(seen_module, "_SET_IDS", 1024)
    seen = SeenIds()
    seen.claim(digests[:50_000])
    first = len(seen._bits)
    assert len(seen._sorted) == 50_000 and first > 0
    for start in range(50_000, 150_000, 1000):
        seen.claim(digests[start : start + 1000])
    for d in digests[150_000:160_000]:
        seen.add(d)
    assert len(seen._bits) > first
    assert all(d in seen for d in digests[:160_000])
    assert not any(d in seen for d in digests[160_000:])
    assert seen.claim(digests[155_000:165_000]) == (list(range(5_000, 10_000)), 5_000)


def test_next_links_that_keep_serving_the_same_page_stop() -> None:
    # a DRF server that ignores ?page= but keeps handing out the next link
    def answer(req: Request) -> Any:
        page = int(req.path.rsplit("=", 1)[1]) if "=" in req.path else 1
        return {"count": 1000, "next": f"https://h/api/items?page={page + 1}", "results": [{"id": i} for i in range(5)]}

    server = Server(answer)
    lst = HttpListing(server, Request(path="items"), NextLink(), ident, key=lambda x: x["id"])
    got: list[Any] = []
    with pytest.raises(PaginationError, match="listed before") as info:
        for item in RunIterator(lst, name="l"):
            got.append(item)
    assert len(got) == 5
    assert len(server.requests) <= 5
    assert info.value.cursor is not None
