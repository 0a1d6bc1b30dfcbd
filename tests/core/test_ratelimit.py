"""RateLimiter and Congestion, on a fake clock: spacing, bursts, shared pauses, threads, AIMD."""

from __future__ import annotations

import threading

import pytest

from runtrack.ratelimit import Congestion, RateLimiter

from .fake_clock import FakeClock


def limiter(per_second: float | None, burst: int = 1) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(per_second, burst, clock=clock, sleep=clock.sleep), clock


def test_requests_are_spaced_at_the_rate() -> None:
    rl, _clock = limiter(10)
    waits = [rl.reserve() for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_a_burst_goes_at_once_then_the_rate_applies() -> None:
    rl, _clock = limiter(10, burst=3)
    waits = [rl.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2])


def test_idle_time_refills_the_bucket_up_to_the_burst_only() -> None:
    rl, clock = limiter(10, burst=2)
    for _ in range(2):
        rl.reserve()
    clock.now += 100.0  # a long idle period earns at most ``burst`` slots
    assert [rl.reserve() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.1])


def test_acquire_sleeps_only_when_it_must() -> None:
    rl, clock = limiter(4)
    rl.acquire()
    rl.acquire()
    assert clock.sleeps == pytest.approx([0.25])


def test_a_retry_delay_is_one_wait_not_two() -> None:
    rl, _clock = limiter(10)
    rl.reserve()  # the next slot is 0.1 s away
    # a 1 s backoff already covers the limiter's 0.1 s: one wait of exactly 1 s, not 1.1 s
    assert rl.reserve(1.0) == 1.0
    # the limiter's next slot is counted from that retry
    assert rl.reserve() == pytest.approx(1.1)


def test_a_shared_pause_holds_every_caller_and_no_burst_follows_it() -> None:
    rl, _clock = limiter(10, burst=5)
    assert rl.reserve(2.0, shared=True) == 2.0  # Retry-After: 2
    # another thread that asks now waits for the pause, then the rate, not a burst of five at once
    assert [rl.reserve() for _ in range(3)] == pytest.approx([2.1, 2.2, 2.3])


def test_unlimited_waits_only_for_delays_and_shared_pauses() -> None:
    rl, _clock = limiter(None)
    assert [rl.reserve() for _ in range(5)] == [0.0] * 5
    assert rl.reserve(0.5) == 0.5  # one thread's backoff holds nobody else
    assert rl.reserve() == 0.0
    assert rl.reserve(3.0, shared=True) == 3.0
    assert rl.reserve() == pytest.approx(3.0)


def test_threads_share_one_limit() -> None:
    rl, _clock = limiter(100)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            w = rl.reserve()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 100 reservations at 100/s: every slot handed out once, 10 ms apart
    assert sorted(round(w, 6) for w in waits) == [round(i / 100, 6) for i in range(100)]


@pytest.mark.parametrize("args", [(0, 1), (-1, 1), (10, 0)])
def test_bad_arguments_are_refused(args: tuple[float, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        RateLimiter(*args)


def test_congestion_is_unconstrained_until_a_429() -> None:
    c = Congestion()
    assert c.limit(8) == 8
    for _ in range(100):
        c.succeeded()
    assert c.limit(8) == 8


def test_congestion_halves_on_a_429_and_grows_back_slowly() -> None:
    c = Congestion()
    assert c.limit(8) == 8
    c.throttled()
    assert c.limit(8) == 4
    limits = []
    for _ in range(12):
        c.succeeded()
        limits.append(c.limit(8))
    assert limits[0] == 4  # not back at once
    assert limits == sorted(limits)  # only grows
    assert limits[-1] > 4  # about one per window of successes
    for _ in range(100):
        c.succeeded()
    assert c.limit(8) == 8  # fully recovered


def test_a_burst_of_429s_from_one_window_halves_once() -> None:
    c = Congestion()
    c.limit(8)
    sent = c.epoch
    for _ in range(8):  # the eight requests in flight all come back 429
        c.throttled(sent)
    assert c.limit(8) == 4
    c.throttled(c.epoch)  # a 429 to a request sent after the halving: halves again
    assert c.limit(8) == 2
    c.throttled()  # no epoch: every 429 halves
    assert c.limit(8) == 1
    assert c.throttles == 10


def test_the_window_never_drops_below_one() -> None:
    c = Congestion()
    c.limit(2)
    for _ in range(50):
        c.throttled()
    assert c.limit(2) == 1
