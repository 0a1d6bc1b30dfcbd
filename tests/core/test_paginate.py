"""Strategies and the pagination loop, with plain dict responses (no HTTP)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runtrack.errors import PaginationError, PayloadError, ServerError
from runtrack.paginate import (
    END,
    FanOut,
    HttpListing,
    NextLink,
    OffsetLimit,
    PageToken,
    Request,
    RunIterator,
    StaticListing,
    Unpaginated,
    decode_cursor,
    encode_cursor,
)


class Server:
    """Answers requests from a function of the request, and records them."""

    def __init__(self, answer: Callable[[Request], Any]) -> None:
        self.answer = answer
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Any:
        self.requests.append(request)
        return self.answer(request)


def offset_server(items: list[Any]) -> Server:
    def answer(req: Request) -> Any:
        offset, limit = int(req.params["offset"]), int(req.params["limit"])
        return items[offset : offset + limit]

    return Server(answer)


def token_server(pages: dict[str | None, Any]) -> Server:
    return Server(lambda req: pages[req.params.get("pageToken")])


def ident(item: Any) -> Any:
    return item


def listing(server: Server, strategy: Any, **kw: Any) -> HttpListing[Any]:
    return HttpListing(server, Request(path="items"), strategy, ident, **kw)


def collect(lst: Any, **kw: Any) -> list[Any]:
    return list(RunIterator(lst, name="test", **kw))


# ---------------------------------------------------------------- offset/limit


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


# ---------------------------------------------------------------- page token


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


def test_non_string_token_is_a_payload_error() -> None:
    server = Server(lambda req: {"data": [1], "nextPageToken": 7})
    with pytest.raises(PayloadError, match=r"\$.nextPageToken"):
        collect(listing(server, PageToken()))


# ---------------------------------------------------------------- next link / unpaginated


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


def test_unpaginated() -> None:
    assert collect(listing(Server(lambda req: [1, 2, 3]), Unpaginated())) == [1, 2, 3]
    assert collect(listing(Server(lambda req: {"items": None}), Unpaginated(items_field="items"))) == []
    with pytest.raises(PayloadError, match="expected a JSON array"):
        collect(listing(Server(lambda req: "nope"), Unpaginated()))


def test_strategies_are_pure() -> None:
    base = Request(path="x")
    assert OffsetLimit().next_state([], [], 0, 10) is END
    assert OffsetLimit().next_state([1] * 10, [1] * 10, 20, 10) == 30
    assert PageToken().next_state({"nextPageToken": "t"}, [], "s", 5) == "t"
    assert OffsetLimit().request(base, 30, 10).params == {"offset": 30, "limit": 10}
    assert base.params == {}


# ---------------------------------------------------------------- parse errors, max_items, cursors


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


def test_transport_error_gets_the_cursor_of_the_failed_page() -> None:
    def answer(req: Request) -> Any:
        if req.params.get("pageToken") == "a":
            raise ServerError("boom", status_code=503)
        return {"data": [1], "nextPageToken": "a"}

    it = RunIterator(listing(Server(answer), PageToken()), name="t")
    with pytest.raises(ServerError) as info:
        list(it)
    assert decode_cursor(info.value.cursor or "", listing="t") == {"s": "a"}


# ---------------------------------------------------------------- fan-out


def fan_out_fixture() -> tuple[FanOut[str, Any], dict[str, list[int]]]:
    data = {"q1": list(range(5)), "q2": [], "q3": list(range(100, 103))}

    def runs_of(queue: str) -> HttpListing[Any]:
        return listing(offset_server([{"id": f"{queue}-{i}", "n": i} for i in data[queue]]), OffsetLimit(), page_size=2)

    queues = listing(
        token_server({None: {"data": ["q1", "q2"], "nextPageToken": "p2"}, "p2": {"data": ["q3"]}}), PageToken()
    )
    return FanOut(queues, runs_of, container_id=str), data


def test_fan_out_lists_every_container_in_order() -> None:
    fan, data = fan_out_fixture()
    got = [x["id"] for x in RunIterator(fan, name="f")]
    assert got == [f"{q}-{i}" for q, ids in data.items() for i in ids]


def test_fan_out_resumes_from_every_page_boundary() -> None:
    fan, _ = fan_out_fixture()
    pages = list(RunIterator(fan, name="f").pages())
    everything = [x["id"] for p in pages for x in p.items]
    for i, page in enumerate(pages):
        if page.next_cursor is None:
            continue
        fresh, _ = fan_out_fixture()
        rest = [x["id"] for x in RunIterator(fresh, name="f", cursor=page.next_cursor)]
        before = [x["id"] for p in pages[: i + 1] for x in p.items]
        assert before + rest == everything, f"resume after page {i}"


def test_fan_out_resume_mid_page_with_max_items() -> None:
    fan, _ = fan_out_fixture()
    first = RunIterator(fan, name="f", max_items=3)
    got = [x["id"] for x in first]
    fan2, _ = fan_out_fixture()
    rest = [x["id"] for x in RunIterator(fan2, name="f", cursor=first.last_cursor)]
    fan3, _ = fan_out_fixture()
    assert got + rest == [x["id"] for x in RunIterator(fan3, name="f")]


def test_fan_out_over_static_containers_and_nested() -> None:
    inner = FanOut(StaticListing(["a", "b"]), lambda v: StaticListing([f"{v}1", f"{v}2"]), container_id=str)
    outer = FanOut(
        StaticListing(["p", "q"]),
        lambda p: FanOut(StaticListing([p + "x"]), lambda v: StaticListing([v + "!"]), str),
        str,
    )
    assert list(RunIterator(inner, name="n")) == ["a1", "a2", "b1", "b2"]
    assert list(RunIterator(outer, name="n")) == ["px!", "qx!"]
    it = RunIterator(inner, name="n", max_items=3)
    assert list(it) == ["a1", "a2", "b1"]
    assert list(RunIterator(inner, name="n", cursor=it.last_cursor)) == ["b2"]


def test_fan_out_resume_when_the_container_moved() -> None:
    fan = FanOut(StaticListing(["a", "b", "c"]), lambda v: StaticListing([v + "1", v + "2"]), container_id=str)
    it = RunIterator(fan, name="m", max_items=3)
    assert list(it) == ["a1", "a2", "b1"]
    moved = FanOut(StaticListing(["new", "a", "b", "c"]), lambda v: StaticListing([v + "1", v + "2"]), container_id=str)
    assert list(RunIterator(moved, name="m", cursor=it.last_cursor)) == ["b2", "c1", "c2"]


# ---------------------------------------------------------------- fan-out with a worker pool


def latency_fan_out(concurrency: int, fail_queue: str | None = None) -> FanOut[str, Any]:
    def runs_of(queue: str) -> HttpListing[Any]:
        def answer(req: Request) -> Any:
            if queue == fail_queue and int(req.params["offset"]) >= 2:
                raise ServerError("boom", status_code=503)
            data = [{"id": f"{queue}-{i}"} for i in range(5)]
            offset = int(req.params["offset"])
            return data[offset : offset + 2]

        return listing(Server(answer), OffsetLimit(), page_size=2)

    queues = StaticListing([f"q{i}" for i in range(8)])
    return FanOut(queues, runs_of, container_id=str, concurrency=concurrency)


def test_concurrent_fan_out_keeps_order_and_cursors() -> None:
    sequential = list(RunIterator(latency_fan_out(1), name="c").pages())
    parallel = list(RunIterator(latency_fan_out(4), name="c").pages())
    assert [(p.items, p.cursor, p.next_cursor) for p in parallel] == [
        (p.items, p.cursor, p.next_cursor) for p in sequential
    ]
    assert len([x for p in parallel for x in p.items]) == 40


def test_concurrent_fan_out_raises_in_order_with_cursor_and_resumes() -> None:
    got: list[str] = []
    with pytest.raises(ServerError) as info:
        for item in RunIterator(latency_fan_out(4, fail_queue="q3"), name="c"):
            got.append(item["id"])
    # everything before the failing page of q3, nothing after it
    assert got == [f"q{q}-{i}" for q in range(3) for i in range(5)] + ["q3-0", "q3-1"]
    rest = [x["id"] for x in RunIterator(latency_fan_out(4), name="c", cursor=info.value.cursor)]
    assert got + rest == [f"q{q}-{i}" for q in range(8) for i in range(5)]


def test_concurrent_fan_out_stops_its_workers_when_abandoned() -> None:
    import threading

    before = {t.name for t in threading.enumerate()}
    it = iter(RunIterator(latency_fan_out(4), name="c"))
    assert next(it)["id"] == "q0-0"
    it.close()  # type: ignore[attr-defined]
    leftover = [t for t in threading.enumerate() if t.name.startswith("runtrack-fanout") and t.name not in before]
    assert leftover == []


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        FanOut(StaticListing([]), lambda c: StaticListing([]), str, concurrency=0)
