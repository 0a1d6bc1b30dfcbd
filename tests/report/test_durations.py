"""Duration percentiles in bounded memory: exact while small, within 1 % (and few buckets) when large."""

from __future__ import annotations

import math
import random

import pytest

from runtrack.report.durations import DURATION_BINS, EXACT_LIMIT, RELATIVE_ERROR, Durations, _key


def exact_percentile(values: list[float], p: float) -> float:
    data = sorted(values)
    return data[min(max(1, math.ceil(p / 100 * len(data))), len(data)) - 1]


def test_small_sets_are_exact() -> None:
    d = Durations()
    for v in (30.0, 10.0, 20.0):
        d.add(v)
    assert d.is_exact and (d.percentile(50), d.percentile(95), d.maximum) == (20.0, 30.0, 30.0)
    assert Durations().percentile(50) is None


def test_large_sets_stay_within_the_relative_error_in_few_buckets() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(3, 2) for _ in range(50_000)] + [0.0, -2.0]
    d = Durations()
    for v in values:
        d.add(v)
    assert not d.is_exact and d.exact is None
    assert len(d.buckets) < 3000  # memory does not grow with the number of values
    for p in (1, 50, 95, 99):
        want = exact_percentile(values, p)
        assert d.percentile(p) == pytest.approx(want, rel=RELATIVE_ERROR)
    assert d.maximum == max(values) and d.count == len(values)
    assert sum(d.histogram()) == len(values) and len(d.histogram()) == len(DURATION_BINS) + 1


def test_merge_and_bulk_counts_agree_with_adding_one_by_one() -> None:
    rng = random.Random(3)
    values = [round(rng.uniform(0, 5000), 3) for _ in range(EXACT_LIMIT + 10)]
    one = Durations()
    for v in values:
        one.add(v)
    a, b = Durations(), Durations()
    for v in values[:100]:
        a.add(v)
    b.add_buckets((_key(v), 1, v) for v in values[100:])  # as SQL hands them over
    a.merge(b)
    assert (a.count, a.maximum, a.histogram()) == (one.count, one.maximum, one.histogram())
    assert a.percentile(50) == one.percentile(50)
    small, other = Durations(), Durations()
    small.add(1.0)
    other.add(2.0)
    small.merge(other)
    assert small.is_exact and small.percentile(100) == 2.0
