"""Pages in flight: several offset pages at once, the next token page while this one is consumed."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from runtrack.errors import ServerError
from runtrack.paginate import HttpListing, OffsetLimit, PageToken, Request, RunIterator

from .helpers import Server, ident, offset_server, token_server


def offset_listing(server: Server, concurrency: int, **kw: Any) -> HttpListing[Any]:
    return HttpListing(
        server, Request(path="q"), OffsetLimit(), ident, key=lambda x: x["id"], concurrency=concurrency, **kw
    )


def page_view(lst: HttpListing[Any], **kw: Any) -> list[tuple[Any, ...]]:
    return [(p.items, p.cursor, p.next_cursor) for p in RunIterator(lst, name="w", **kw).pages()]


@pytest.mark.parametrize("total", [0, 1, 99, 100, 101, 250, 1000])
def test_the_window_delivers_the_same_pages_and_cursors_as_the_serial_loop(total: int) -> None:
    items = [{"id": i} for i in range(total)]
    serial_server, window_server = offset_server(items), offset_server(items)
    serial = page_view(offset_listing(serial_server, 1, page_size=100))
    windowed = page_view(offset_listing(window_server, 8, page_size=100))
    assert windowed == serial
    assert [x for p in windowed for x in p[0]] == items
    # the end is found from a short page; what was in flight beyond it is at most the window
    assert len(serial_server.requests) <= len(window_server.requests) <= len(serial_server.requests) + 7


def test_max_items_stops_without_a_burst() -> None:
    server = offset_server([{"id": i} for i in range(10_000)])
    got = list(RunIterator(offset_listing(server, 8, page_size=100), name="w", max_items=150))
    assert len(got) == 150
    # slow start: one page, then two in flight; 150 items need two pages
    assert len(server.requests) <= 3


def test_an_error_in_flight_surfaces_in_order_with_the_cursor_of_its_page() -> None:
    items = [{"id": i} for i in range(500)]

    def answer(req: Request) -> Any:
        offset = int(req.params["offset"])
        if offset >= 285:
            raise ServerError("boom", status_code=503)
        return items[offset : offset + 100]

    got: list[int] = []
    with pytest.raises(ServerError) as info:
        for item in RunIterator(offset_listing(Server(answer), 4, page_size=100), name="w"):
            got.append(item["id"])
    assert 285 <= len(got) < 385 and got == list(range(len(got)))  # every page before the failing one, nothing after
    rest = list(RunIterator(offset_listing(offset_server(items), 4, page_size=100), name="w", cursor=info.value.cursor))
    assert got + [x["id"] for x in rest] == list(range(500))


def test_the_window_shrinks_to_what_the_congestion_signal_allows() -> None:
    class Congestion:
        def __init__(self) -> None:
            self.asked: list[int] = []

        def limit(self, maximum: int) -> int:
            self.asked.append(maximum)
            return 1

    in_flight = peak = 0
    lock = threading.Lock()
    items = [{"id": i} for i in range(2000)]

    def answer(req: Request) -> Any:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        offset = int(req.params["offset"])
        with lock:
            in_flight -= 1
        return items[offset : offset + 100]

    congestion = Congestion()
    got = list(RunIterator(offset_listing(Server(answer), 8, page_size=100, congestion=congestion), name="w"))
    assert got == items
    assert peak == 1 and congestion.asked and set(congestion.asked) == {8}


def test_the_next_token_page_is_requested_while_this_one_is_consumed() -> None:
    second_asked = threading.Event()
    pages = {None: {"data": [1], "nextPageToken": "a"}, "a": {"data": [2]}}

    def answer(req: Request) -> Any:
        if req.params.get("pageToken") == "a":
            second_asked.set()
        return pages[req.params.get("pageToken")]

    it = RunIterator(HttpListing(Server(answer), Request(path="t"), PageToken(), ident), name="t")
    for item in it:
        if item == 1:
            assert second_asked.wait(10), "page 2 was not requested while page 1 was being consumed"
    assert it.last_cursor is None


def test_prefetch_can_be_turned_off() -> None:
    server = token_server({None: {"data": [1], "nextPageToken": "a"}, "a": {"data": [2]}})
    pages = RunIterator(HttpListing(server, Request(path="t"), PageToken(), ident, prefetch=False), name="t").pages()
    next(pages)
    assert len(server.requests) == 1
    assert [p.items for p in pages] == [(2,)]


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        offset_listing(offset_server([]), 0)


def test_pages_are_received_on_worker_threads_and_decoded_in_order_on_the_consumers() -> None:
    """With 8 pages arriving at once, decoding them on 8 worker threads made the page the consumer waited for queue
    behind the others for the interpreter lock. The workers now only receive; the consumer decodes each page when
    it takes it, in order: 4.54 -> 4.44 s for one 10,000-run queue at 300 ms (docs/benchmarks.md)."""
    import responses

    from runtrack.http import HeaderAuth, Secret, Transport

    base = "https://api.example.test"
    transport = Transport(base, platform="demo", auth=HeaderAuth({"X-API-Key": Secret("k3y-s3cret-value")}))
    decoded_on: list[tuple[str, int]] = []
    received_on: list[str] = []
    real_decode, real_receive = transport.decode, transport.receive

    def decode(response: Any, request: Request) -> Any:
        decoded_on.append((threading.current_thread().name, int(request.params["offset"])))
        return real_decode(response, request)

    def receive(request: Request) -> Any:
        received_on.append(threading.current_thread().name)
        return real_receive(request)

    transport.decode = decode  # type: ignore[method-assign]
    transport.receive = receive  # type: ignore[method-assign]
    items = [{"id": i} for i in range(45)]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        for offset in range(0, 60, 9):  # pages of 10 overlapping by one
            mocked.get(
                f"{base}/q",
                json=items[offset : offset + 10],
                match=[responses.matchers.query_param_matcher({"offset": str(offset), "limit": "10"})],
            )
        lst = HttpListing(
            transport.json, Request(path="q"), OffsetLimit(), ident, page_size=10, key=lambda x: x["id"], concurrency=4
        )
        got = list(RunIterator(lst, name="w"))
    assert got == items
    consumer = threading.current_thread().name
    assert {name for name, _ in decoded_on} == {consumer}  # every page decoded where it is consumed
    assert [offset for _, offset in decoded_on] == sorted(offset for _, offset in decoded_on)  # in order
    assert received_on and consumer not in received_on  # and received on the workers


def test_a_fetch_that_is_not_a_transport_runs_whole_on_the_workers() -> None:
    from runtrack.paginate.window import in_two

    def fetch(request: Request) -> Any:
        return {"n": 1}

    receive, finish = in_two(fetch)
    assert receive is fetch and finish(Request(path="x"), {"n": 1}) == {"n": 1}


def test_the_listings_of_one_transport_share_their_fetch_threads_and_connections() -> None:
    """A fan-out over 12 queues with 2 pages of each in flight opened a thread, a session and a connection per page
    in flight of every queue (24 and more); the windows now submit to the transport's own pool, whose threads keep
    their sessions from one listing to the next. Closing the transport stops the pool; it starts again on use."""
    import runtrack
    from runtrack.testing import FakeLangSmith

    with FakeLangSmith(seed=2, queues=12, runs_per_queue=30) as fake:
        src = runtrack.connect("langsmith", base_url=fake.base_url, api_key=fake.api_key, concurrency=4, rate_limit=0)
        transport = src.transport
        runs = list(src.runs(page_size=10))
        assert len(runs) == 12 * 30 and len({r.uid for r in runs}) == len(runs)
        pool = transport.fetchers()
        for _ in range(2):  # more listings: the same threads (a new one only when none is idle at that moment)
            assert len({r.uid for r in src.runs(page_size=10)}) == 12 * 30
        # 8 pages in flight at once (4 queues, 2 pages each) and the caller's own session, with room for a thread
        # started while another was about to become idle; before, every fan-out added 2 sessions per queue (24)
        assert 0 < len(transport._sessions) <= 16 and transport.fetchers() is pool
        src.close()
        assert transport.fetchers() is not pool  # closed, then started again
        src.close()


def test_a_listing_goes_on_after_its_transport_was_closed_mid_way() -> None:
    """close() shuts the transport's fetch threads down; a listing still being read takes the next pool (as its
    requests always took new sessions after a close) instead of failing with the executor's RuntimeError."""
    import runtrack
    from runtrack.testing import FakeLangSmith

    with FakeLangSmith(seed=4, queues=1, runs_per_queue=60) as fake:
        src = runtrack.connect("langsmith", base_url=fake.base_url, api_key=fake.api_key, concurrency=4, rate_limit=0)
        runs = src.runs(queue_id=fake.queue_ids[0], page_size=10)
        got = []
        for run in runs:
            got.append(run.native_id)
            if len(got) == 15:
                src.close()
        assert got == [str(row["id"]) for row in fake.queue_runs(fake.queue_ids[0])]
        src.close()
