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

    def __repr__(self) -> str:
        rate = "unlimited" if self.per_second is None else f"{self.per_second:g}/s"
        return f"RateLimiter({rate}, burst={self.burst})"

    def reserve(self, delay: float = 0.0, *, shared: bool = False) -> float:
        """Reserve a slot no earlier than ``delay`` seconds from now and return how long to wait for it.

        ``shared``: the delay is a pause for every thread of the instance (the vendor asked the whole client to
        wait, e.g. ``Retry-After`` on a 429); the bucket is empty when the pause ends, so no burst follows it.
        """
        delay = max(0.0, delay)
        with self._lock:
            now = self._clock()
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
            return delay if start <= now + delay else start - now

    def acquire(self, delay: float = 0.0, *, shared: bool = False) -> float:
        """Wait for the next slot (see :meth:`reserve`); return the seconds waited."""
        wait = self.reserve(delay, shared=shared)
        if wait > 0:
            self._sleep(wait)
        return wait


class Congestion:
    """How many requests a listing may keep in flight now: AIMD on the vendor's 429s.

    Unconstrained until the first :meth:`throttled`; then the window halves on a 429 (at most once per window of
    responses, so a burst of 429s from one window counts as one) and grows by one per window of successes, back to
    the listing's own maximum.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window: float | None = None  # None: no 429 seen (or fully recovered)
        self._largest = 1  # the largest maximum a listing asked for
        self._since_cut = 0  # responses since the last halving
        self._cut_from = 0.0  # the window before the last halving
        self.throttles = 0  # 429s seen, for reports and benchmarks

    def __repr__(self) -> str:
        return f"Congestion(window={self._window!r}, throttles={self.throttles})"

    def throttled(self) -> None:
        """A request was answered 429."""
        with self._lock:
            self.throttles += 1
            current = self._window if self._window is not None else float(self._largest)
            if self._window is not None and self._since_cut < self._cut_from - 1:
                self._since_cut += 1  # an answer to a request sent before the last halving
                return
            self._cut_from = current
            self._window = max(1.0, current / 2)
            self._since_cut = 0

    def succeeded(self) -> None:
        """A request succeeded."""
        with self._lock:
            self._since_cut += 1
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
