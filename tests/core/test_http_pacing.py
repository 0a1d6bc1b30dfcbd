"""The transport's pacing: the rate limit per instance, one owner of waiting, and the congestion signal."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import responses

import runtrack
from runtrack.http import Transport

from .fake_clock import FakeClock

BASE = "https://api.example.test"


def transport(clock: FakeClock, **kw: Any) -> Transport:
    return Transport(BASE, platform="demo", sleep=clock.sleep, clock=clock, rng=lambda: 1.0, **kw)


@responses.activate
def test_requests_are_paced_at_the_rate_limit() -> None:
    responses.get(f"{BASE}/x", json=[])
    clock = FakeClock(500.0)
    t = transport(clock, rate_limit=4)  # a burst of 1 (a quarter second's worth), then one every 0.25 s
    for _ in range(5):
        t.get_json("x")
    assert clock.sleeps == pytest.approx([0.25] * 4)
    assert len(responses.calls) == 5


@responses.activate
def test_without_a_rate_limit_nothing_waits() -> None:
    responses.get(f"{BASE}/x", json=[])
    clock = FakeClock(500.0)
    t = transport(clock)
    for _ in range(20):
        t.get_json("x")
    assert clock.sleeps == []


@responses.activate
def test_retry_after_is_the_only_wait_and_pushes_the_next_slot_out() -> None:
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "3"})
    responses.get(f"{BASE}/x", json=[])
    clock = FakeClock(500.0)
    t = transport(clock, rate_limit=2)
    t.get_json("x")
    # the limiter's own 0.5 s is inside the 3 s the vendor asked for: one sleep of 3 s, not 3.5 s
    assert clock.sleeps == [3.0]
    t.get_json("x")
    assert clock.sleeps == [3.0, 0.5]  # and the next slot is counted from the retry


@responses.activate
def test_backoff_and_the_limiter_do_not_stack() -> None:
    responses.get(f"{BASE}/x", status=503)
    responses.get(f"{BASE}/x", json=[])
    clock = FakeClock(500.0)
    t = transport(clock, rate_limit=1, backoff=2.0)
    t.get_json("x")
    assert clock.sleeps == [2.0]  # the backoff (rng 1.0: the full step), which covers the limiter's 1 s


@responses.activate
def test_a_429_pauses_every_thread_of_the_instance() -> None:
    responses.get(f"{BASE}/slow", status=429, headers={"Retry-After": "5"})
    responses.get(f"{BASE}/slow", json=[])
    responses.get(f"{BASE}/other", json=[])
    clock = FakeClock(500.0)
    t = transport(clock)  # no rate limit at all: the vendor's pause still holds the other thread
    waits: dict[str, float] = {}

    def sleep(seconds: float) -> None:
        name = threading.current_thread().name
        waits[name] = seconds
        if name == "first":  # while the first thread waits out its 429, a second one sends
            other = threading.Thread(target=t.get_json, args=("other",), name="second")
            other.start()
            other.join()
        clock.sleep(seconds)

    t.limiter._sleep = sleep
    first = threading.Thread(target=t.get_json, args=("slow",), name="first")
    first.start()
    first.join()
    assert waits == {"first": 5.0, "second": pytest.approx(5.0)}
    assert [c.request.url.rsplit("/", 1)[1] for c in responses.calls] == ["slow", "other", "slow"]


@responses.activate
def test_congestion_hears_of_429s_and_successes() -> None:
    responses.get(f"{BASE}/x", status=429)
    responses.get(f"{BASE}/x", status=429)
    responses.get(f"{BASE}/x", json=[])
    clock = FakeClock(500.0)
    t = transport(clock)
    assert t.congestion.limit(8) == 8
    t.get_json("x")
    assert t.congestion.throttles == 2
    assert t.congestion.limit(8) == 2  # halved twice (one request at a time: each 429 is its own window)
    for _ in range(40):
        t.get_json("x")
    assert t.congestion.limit(8) == 8  # grown back


def test_each_adapter_has_a_documented_default_rate_limit() -> None:
    defaults = {"langsmith": 100.0, "labelstudio": 50.0, "foundry": 75.0}
    for name, rate in defaults.items():
        with runtrack.connect(name, environ={}, base_url="https://h.example.test", api_key="k" * 12) as adapter:
            assert adapter.transport.limiter.per_second == rate
            assert adapter.transport.limiter.burst >= 8  # a fan-out of 8 may start at once


@pytest.mark.parametrize(("given", "expected"), [("12.5", 12.5), (3, 3.0), (0, None), ("off", None)])
def test_the_rate_limit_option(given: object, expected: float | None) -> None:
    with runtrack.connect(
        "langsmith", environ={}, base_url="https://h.example.test", api_key="k" * 12, rate_limit=given
    ) as adapter:
        assert adapter.config["rate_limit"] == expected
        assert adapter.transport.limiter.per_second == expected


@pytest.mark.parametrize("given", ["fast", -1, "nan"])
def test_a_bad_rate_limit_is_a_configuration_error(given: object) -> None:
    with pytest.raises(runtrack.ConfigurationError, match="rate_limit"):
        runtrack.connect("langsmith", environ={}, base_url="https://h.example.test", api_key="k" * 12, rate_limit=given)
