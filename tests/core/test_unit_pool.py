"""runtrack.unit_pool.in_order: concurrent units, results in input order, bounded, errors in place, stoppable."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from runtrack.unit_pool import in_order

WAIT = 10.0  # seconds an event may take before a test gives up (never reached when the code is right)


def wait_until(predicate: object, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        time.sleep(0.005)


def test_units_run_at_once_and_come_back_in_input_order() -> None:
    last_started = threading.Event()

    def produce(unit: int) -> Iterator[str]:
        if unit == 3:
            last_started.set()
        if unit == 0:  # the first unit starts producing only once the last one has started: they run at once
            assert last_started.wait(WAIT)
        for page in range(3):
            yield f"{unit}.{page}"

    got = [(unit, list(items)) for unit, items in in_order([0, 1, 2, 3], produce, workers=4)]
    assert got == [(u, [f"{u}.0", f"{u}.1", f"{u}.2"]) for u in range(4)]


def test_one_worker_is_a_plain_loop_in_the_callers_thread() -> None:
    threads: list[str] = []
    produced: list[int] = []

    def produce(unit: int) -> Iterator[int]:
        threads.append(threading.current_thread().name)
        produced.append(unit)
        yield unit

    results = in_order([1, 2, 3], produce, workers=1)
    _unit, items = next(results)
    assert list(items) == [1]
    assert produced == [1]  # nothing ahead of the caller
    assert [list(i) for _, i in results] == [[2], [3]]
    assert set(threads) == {threading.current_thread().name}


def test_an_error_comes_after_the_items_before_it_and_the_other_units_go_on() -> None:
    def produce(unit: int) -> Iterator[int]:
        yield unit * 10
        if unit == 1:
            raise ValueError("page 2 of unit 1")
        yield unit * 10 + 1

    seen: list[object] = []
    for _unit, items in in_order([0, 1, 2], produce, workers=3):
        try:
            for item in items:
                seen.append(item)
        except ValueError as exc:
            seen.append(str(exc))
    assert seen == [0, 1, 10, "page 2 of unit 1", 20, 21]


def test_units_started_ahead_of_the_caller_are_bounded() -> None:
    started: list[int] = []

    def produce(unit: int) -> Iterator[int]:
        started.append(unit)
        yield unit

    results = in_order(list(range(20)), produce, workers=2, ahead=1)
    _unit, items = next(results)
    wait_until(lambda: len(started) >= 3)
    time.sleep(0.2)  # give the workers every chance to run further ahead than they may
    assert sorted(started) == [0, 1, 2]  # two workers + one finished unit waiting
    assert list(items) == [0]
    assert [u for u, i in results if list(i)] == list(range(1, 20))


def test_a_unit_buffers_a_bounded_number_of_items() -> None:
    produced = [0]

    def produce(unit: int) -> Iterator[int]:
        for i in range(100):
            produced[0] = i + 1
            yield i

    results = in_order([0, 1], produce, workers=2, buffer=3)
    _unit, items = next(results)
    wait_until(lambda: produced[0] >= 4)
    time.sleep(0.2)
    assert produced[0] <= 4  # three in the buffer and one waiting to be put
    assert list(items) == list(range(100))
    results.close()


def test_closing_stops_the_workers() -> None:
    stopped = threading.Event()
    running = [0]

    def produce(unit: int) -> Iterator[int]:
        running[0] += 1
        try:
            i = 0
            while True:  # endless
                yield i
                i += 1
        finally:
            stopped.set()

    results = in_order([0, 1, 2], produce, workers=3)
    _unit, items = next(results)
    assert next(items) == 0
    results.close()
    assert stopped.wait(WAIT)


def test_a_stream_left_half_read_frees_its_place() -> None:
    def produce(unit: int) -> Iterator[int]:
        yield from range(50)

    firsts = []
    for _unit, items in in_order(list(range(6)), produce, workers=2, ahead=0, buffer=1):
        firsts.append(next(items))  # read one item of each unit only
    assert firsts == [0] * 6


@pytest.mark.parametrize("workers", [1, 4])
def test_no_units(workers: int) -> None:
    assert list(in_order([], lambda u: [u], workers=workers)) == []
