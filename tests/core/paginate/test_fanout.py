"""`FanOut`: containers, resume across them, the worker pool."""

from __future__ import annotations

from typing import Any

import pytest

from runtrack.errors import ServerError
from runtrack.paginate import (
    FanOut,
    HttpListing,
    OffsetLimit,
    PageToken,
    Request,
    RunIterator,
    StaticListing,
)

from .helpers import Server, listing, offset_server, token_server


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
