"""Duration percentiles in bounded memory.

:class:`Durations` keeps every value while there are at most :data:`EXACT_LIMIT` of them (percentiles are exact),
and beyond that a log-bucketed sketch (each value counted in the bucket ``ceil(log(v) / log(GAMMA))``): at most a
few thousand buckets whatever the number of runs, and a percentile read from it is within :data:`RELATIVE_ERROR` of
the true value (the DDSketch construction). Sketches of several groups merge by adding bucket counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["DURATION_BINS", "EXACT_LIMIT", "GAMMA", "RELATIVE_ERROR", "Durations", "bin_index"]

EXACT_LIMIT = 4096
RELATIVE_ERROR = 0.01
GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
_LOG_GAMMA = math.log(GAMMA)
_ZERO = 1e-9  #: |v| below this counts as 0 seconds

#: Upper edges (seconds) of the duration distribution's display bins; a last, open bin holds the rest.
DURATION_BINS = (1.0, 10.0, 60.0, 600.0, 3600.0, 6 * 3600.0, 86400.0)


def bin_index(seconds: float) -> int:
    """The display bin of a duration: the first upper edge it is below, else the open last bin."""
    for i, edge in enumerate(DURATION_BINS):
        if seconds < edge:
            return i
    return len(DURATION_BINS)


def _key(value: float) -> int:
    """Bucket of a value: positive for positive values, negative for negative ones, 0 for ~0."""
    magnitude = abs(value)
    if magnitude < _ZERO:
        return 0
    k = max(1, math.ceil(math.log(magnitude / _ZERO) / _LOG_GAMMA))
    return k if value > 0 else -k


def _value(key: int) -> float:
    """The representative of a bucket: within RELATIVE_ERROR of every value counted in it."""
    if key == 0:
        return 0.0
    v = _ZERO * 2 * GAMMA ** abs(key) / (GAMMA + 1)
    return v if key > 0 else -v


class Durations:
    """Durations in seconds: count, max, percentiles, display bins; exact up to EXACT_LIMIT values."""

    __slots__ = ("_sorted", "buckets", "count", "exact", "maximum")

    def __init__(self) -> None:
        self.count = 0
        self.maximum: float | None = None
        self.exact: list[float] | None = []  #: None once the values are only in the sketch
        self.buckets: dict[int, int] = {}
        self._sorted = True

    def add(self, seconds: float) -> None:
        self.count += 1
        if self.maximum is None or seconds > self.maximum:
            self.maximum = seconds
        exact = self.exact
        if exact is not None:
            exact.append(seconds)
            self._sorted = False
            if len(exact) > EXACT_LIMIT:
                self._to_sketch()
        else:
            k = _key(seconds)
            self.buckets[k] = self.buckets.get(k, 0) + 1

    def add_buckets(self, rows: Iterable[tuple[int, int, float]]) -> None:
        """Add counts already bucketed (``(bucket, count, largest value)``, as SQL computes them from ``_key``)."""
        self._to_sketch()
        buckets = self.buckets
        for k, n, top in rows:
            self.count += n
            if self.maximum is None or top > self.maximum:
                self.maximum = top
            buckets[k] = buckets.get(k, 0) + n

    def _to_sketch(self) -> None:
        if self.exact is None:
            return
        buckets = self.buckets
        for v in self.exact:
            k = _key(v)
            buckets[k] = buckets.get(k, 0) + 1
        self.exact = None

    def merge(self, other: Durations) -> None:
        if other.count == 0:
            return
        self.count += other.count
        if other.maximum is not None and (self.maximum is None or other.maximum > self.maximum):
            self.maximum = other.maximum
        if self.exact is not None and other.exact is not None and len(self.exact) + len(other.exact) <= EXACT_LIMIT:
            self.exact.extend(other.exact)
            self._sorted = False
            return
        self._to_sketch()
        for k, n in other._bucket_counts():
            self.buckets[k] = self.buckets.get(k, 0) + n

    def _bucket_counts(self) -> Iterable[tuple[int, int]]:
        if self.exact is None:
            return self.buckets.items()
        counts: dict[int, int] = {}
        for v in self.exact:
            k = _key(v)
            counts[k] = counts.get(k, 0) + 1
        return counts.items()

    @property
    def is_exact(self) -> bool:
        return self.exact is not None

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile; None without values. Exact up to EXACT_LIMIT values, else within 1 %."""
        if not self.count:
            return None
        rank = min(max(1, math.ceil(p / 100 * self.count)), self.count)
        if self.exact is not None:
            if not self._sorted:
                self.exact.sort()
                self._sorted = True
            return self.exact[rank - 1]
        seen = 0
        for k in sorted(self.buckets):
            seen += self.buckets[k]
            if seen >= rank:
                value = _value(k)
                return min(value, self.maximum) if self.maximum is not None else value
        return self.maximum  # pragma: no cover - counts always add up to count

    def histogram(self) -> tuple[int, ...]:
        """Counts per display bin (:data:`DURATION_BINS`, then the open bin)."""
        counts = [0] * (len(DURATION_BINS) + 1)
        if self.exact is not None:
            for v in self.exact:
                counts[bin_index(v)] += 1
        else:
            for k, n in self.buckets.items():
                counts[bin_index(_value(k))] += n
        return tuple(counts)
