"""Pacing requests to a vendor: a client-side rate limit and an adaptive in-flight window.

* :class:`RateLimiter` spaces the requests of one adapter instance (every thread shares it) to ``per_second`` on
  average with bursts of at most ``burst``. It is also the one place a transport waits: a retry's delay (backoff,
  ``Retry-After``) is passed to :meth:`RateLimiter.acquire`, so the retry's wait and the limiter's wait are one sleep,
  never two in a row, and a ``Retry-After`` pushes the next slot of every thread out.
* :class:`Congestion` is the additive-increase / multiplicative-decrease signal for listings that keep several
  requests in flight: a 429 halves the window, every full window of successes grows it by one.

Both are thread-safe; ``clock`` and ``sleep`` are injectable for tests.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["Congestion", "RateLimiter"]


class RateLimiter:
    """At most ``burst`` requests at once and ``per_second`` on average (``None``: no rate limit, but retry delays
    and ``Retry-After`` pauses are still waited here).

    A generic cell rate algorithm: the limiter keeps the time at which the bucket is empty again (``_tat``);
    :meth:`acquire` reserves the next slot under a lock and sleeps outside it, so threads queue in arrival order
    without holding each other up while they wait.
    """

    def __init__(
        self,
        per_second: float | None,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second is not None and not per_second > 0:
            raise ValueError(f"per_second must be > 0 or None, got {per_second!r}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst!r}")
        self.per_second = per_second
        self.burst = burst
        self._interval = 0.0 if per_second is None or math.isinf(per_second) else 1.0 / per_second
        self._tolerance = self._interval * burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat = -math.inf  # theoretical arrival time: when the bucket is empty again
        self._paused_until = -math.inf  # a shared pause (Retry-After): nobody starts before it
        # A sleep returns when its slot has come: the clock never reads earlier than the end of the last sleep
        # (so a recording test sleep, which returns at once, still moves the limiter's time on).
        self._woke_at = -math.inf

    def __repr__(self) -> str:
        rate = "unlimited" if self.per_second is None else f"{self.per_second:g}/s"
        return f"RateLimiter({rate}, burst={self.burst})"

    def reserve(self, delay: float = 0.0, *, shared: bool = False) -> float:
        """Reserve a slot no earlier than ``delay`` seconds from now and return how long to wait for it.

        ``shared``: the delay is a pause for every thread of the instance (the vendor asked the whole client to
        wait, e.g. ``Retry-After`` on a 429); the bucket is empty when the pause ends, so no burst follows it.
        """
        return self._reserve(delay, shared)[0]

    def _reserve(self, delay: float, shared: bool) -> tuple[float, float]:
        """The wait and the time the slot starts."""
        delay = max(0.0, delay)
        with self._lock:
            now = max(self._clock(), self._woke_at)
            start = now + delay
            if shared and delay > 0:
                self._paused_until = max(self._paused_until, start)
                self._tat = max(self._tat, start + self._tolerance - self._interval)
            start = max(start, self._paused_until)
            if self._interval:
                tat = max(self._tat, start) + self._interval
                start = max(start, tat - self._tolerance)
                self._tat = tat
            # ``delay`` exactly when nothing else holds this request back (no float drift in what tests record).
            wait = delay if start <= now + delay else start - now
            return wait, now + wait

    def acquire(self, delay: float | None = None, *, shared: bool = False) -> float:
        """Wait for the next slot (see :meth:`reserve`) and return the seconds waited. ``delay`` is a retry's
        wait (backoff or ``Retry-After``): it is always slept, even when it is 0, so each retry is one sleep."""
        wait, slot = self._reserve(delay or 0.0, shared)
        if wait > 0 or delay is not None:
            self._sleep(wait)
            with self._lock:
                self._woke_at = max(self._woke_at, slot)
        return wait


class Congestion:
    """How many requests a listing may keep in flight now: AIMD on the vendor's 429s.

    Unconstrained until the first :meth:`throttled`; then the window halves on a 429 and grows by one per window of
    successes, back to the listing's own maximum. A request that tells :meth:`throttled` the :attr:`epoch` it was
    sent in halves the window only if no 429 has halved it since it was sent, so the 429s of requests that were
    all in flight together count as one (TCP's rule); without an epoch every 429 halves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window: float | None = None  # None: no 429 seen (or fully recovered)
        self._largest = 1  # the largest maximum a listing asked for
        self._cuts = 0  # halvings so far
        self.throttles = 0  # 429s seen, for reports and benchmarks

    def __repr__(self) -> str:
        return f"Congestion(window={self._window!r}, throttles={self.throttles})"

    @property
    def epoch(self) -> int:
        """Read before sending; pass to :meth:`throttled` if the answer is a 429."""
        return self._cuts

    def throttled(self, epoch: int | None = None) -> None:
        """A request (sent in ``epoch``) was answered 429."""
        with self._lock:
            self.throttles += 1
            if epoch is not None and epoch < self._cuts:
                return  # sent before the last halving: that halving already answered it
            current = self._window if self._window is not None else float(self._largest)
            self._window = max(1.0, current / 2)
            self._cuts += 1

    def succeeded(self) -> None:
        """A request succeeded."""
        with self._lock:
            if self._window is not None:
                self._window += 1.0 / self._window
                if self._window >= self._largest:
                    self._window = None

    def limit(self, maximum: int) -> int:
        """The in-flight window to use now, between 1 and ``maximum``."""
        with self._lock:
            self._largest = max(self._largest, maximum)
            if self._window is None:
                return max(1, maximum)
            return max(1, min(maximum, int(self._window)))
