"""Streaming aggregation: :class:`Collector` folds runs page by page into a :class:`SourceResult`, whose groups are
:class:`Stats` (counters, a bounded duration sketch, hourly status counts, daily usage, the oldest stuck runs).
Nothing here keeps the runs themselves; memory grows with the number of groups, distinct hours and distinct error
lines (capped), never with the number of runs.

Adapters put tokens, cost and accuracy counts in ``Run.metrics`` under the names in :mod:`runtrack.metrics`; cost is
a Decimal in the currency of ``Run.scope["currency"]`` (default ``USD``).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs

from .. import metrics as m
from ..model import Metric, ReviewStatus, Run, RunStatus
from .durations import Durations

__all__ = [
    "ALL_SCOPES",
    "MAX_DISTINCT_ERRORS",
    "OTHER_ERRORS",
    "STUCK_LISTED",
    "Collector",
    "ReportSettings",
    "SourceResult",
    "Stats",
    "StuckRun",
    "Usage",
    "error_key",
    "scope_label",
]

ALL_SCOPES = "(all)"
MAX_DISTINCT_ERRORS = 10_000
OTHER_ERRORS = "(other errors)"
ERROR_CHARS = 200
STUCK_LISTED = 25  #: the oldest stuck runs kept (with their links) per group
OPEN_STATUSES = (RunStatus.RUNNING, RunStatus.QUEUED)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@attrs.frozen(kw_only=True)
class ReportSettings:
    """What the report counts: ``now`` (for "stuck"), the ``since`` cut-off, the stuck threshold."""

    now: datetime = attrs.field(factory=lambda: datetime.now(timezone.utc))
    stuck_after: timedelta = timedelta(hours=6)
    since: datetime | None = None
    top_errors: int = 5
    #: group rows by these keys of ``Run.scope`` instead of by the configured scope of each listing
    group_by: tuple[str, ...] = ()


def scope_label(scope: Mapping[str, Any]) -> str:
    """``queue_id=q1,review_status=completed``; ``(all)`` for an empty scope."""
    return ",".join(f"{k}={v}" for k, v in sorted(scope.items()) if v is not None) or ALL_SCOPES


def error_key(message: str) -> str:
    """One line that names an error: a Python traceback is named by its last line (the exception), anything
    else by its first line."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return "(empty error)"
    line = lines[-1] if lines[0].startswith("Traceback (most recent call last)") else lines[0]
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 3] + "..."


def to_decimal(value: Metric) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def add_metric(a: Metric, b: Metric) -> Metric:
    """``a + b`` for metric numbers; a Decimal on either side makes the sum exact (float + Decimal would fail)."""
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return to_decimal(a) + to_decimal(b)
    return a + b


def hour_of(when: datetime) -> int:
    """Hours since the epoch (UTC) of an aware or naive-UTC datetime: the key of the status timeline."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int((when - _EPOCH).total_seconds() // 3600)


@attrs.frozen(kw_only=True)
class StuckRun:
    """A run RUNNING or QUEUED for longer than the stuck threshold, with its link to the vendor UI."""

    since: datetime
    uid: str
    native_id: str
    name: str | None
    status: RunStatus
    url: str | None


class Usage:
    """Tokens (per :data:`runtrack.metrics.TOKENS` name) and cost (per currency) of one day."""

    __slots__ = ("cost", "runs", "tokens")

    def __init__(self) -> None:
        self.runs = 0  #: runs that reported any token or cost metric that day
        self.tokens: dict[str, Metric] = {}
        self.cost: dict[str, Decimal] = {}

    def merge(self, other: Usage) -> None:
        self.runs += other.runs
        for name, value in other.tokens.items():
            self.tokens[name] = add_metric(self.tokens.get(name, 0), value)
        for currency, amount in other.cost.items():
            self.cost[currency] = self.cost.get(currency, Decimal(0)) + amount


class Stats:
    """Streaming counters for a set of runs."""

    __slots__ = (
        "accuracy_runs",
        "correct",
        "cost",
        "daily",
        "durations",
        "errors",
        "hourly",
        "pending",
        "predictions",
        "reviewed",
        "runs",
        "status",
        "stuck",
        "stuck_runs",
        "tokens",
    )

    def __init__(self) -> None:
        self.runs = 0
        self.status: Counter[RunStatus] = Counter()
        self.durations = Durations()
        self.stuck = 0
        self.stuck_runs: list[tuple[float, str, StuckRun]] = []  #: heap of the oldest STUCK_LISTED (negated age)
        self.errors: Counter[str] = Counter()
        self.predictions: Metric = 0
        self.accuracy_runs = 0  #: runs that reported both accuracy counts
        self.correct: Metric = 0
        self.tokens: dict[str, Metric] = {}
        self.cost: dict[str, Decimal] = {}
        self.pending = 0
        self.reviewed = 0
        self.hourly: dict[int, Counter[RunStatus]] = {}  #: status counts per hour (of created_at or started_at)
        self.daily: dict[int, Usage] = {}  #: tokens and cost per day (days since the epoch)

    def add(self, run: Run, stuck_before: datetime) -> None:
        self.runs += 1
        status = run.status
        self.status[status] += 1
        started = run.started_at
        if started is not None and run.ended_at is not None:
            self.durations.add((run.ended_at - started).total_seconds())
        when = run.created_at or started
        hour = hour_of(when) if when is not None else None
        if hour is not None:
            counts = self.hourly.get(hour)
            if counts is None:
                counts = self.hourly[hour] = Counter()
            counts[status] += 1
        if status in OPEN_STATUSES:
            since = started or run.created_at
            if since is not None and since < stuck_before:
                self.add_stuck(
                    StuckRun(
                        since=since, uid=run.uid, native_id=run.native_id, name=run.name, status=status, url=run.url
                    )
                )
        if run.error:
            self.add_error(error_key(run.error))
        if run.review_status is ReviewStatus.PENDING:
            self.pending += 1
        elif run.review_status is ReviewStatus.REVIEWED:
            self.reviewed += 1
        metrics = run.metrics
        if metrics:
            self.add_metrics(metrics, run.scope, hour)

    def add_stuck(self, stuck: StuckRun, *, count: int = 1) -> None:
        """Count a stuck run (``count`` of them when fed in bulk) and keep it if it is among the oldest."""
        self.stuck += count
        entry = (-stuck.since.timestamp(), stuck.native_id + "|" + stuck.uid, stuck)
        if len(self.stuck_runs) < STUCK_LISTED:
            heapq.heappush(self.stuck_runs, entry)
        elif entry[:2] > self.stuck_runs[0][:2]:
            heapq.heapreplace(self.stuck_runs, entry)

    def add_error(self, key: str, n: int = 1) -> None:
        errors = self.errors
        if key in errors or len(errors) < MAX_DISTINCT_ERRORS:
            errors[key] += n
        else:
            errors[OTHER_ERRORS] += n

    def add_metrics(self, metrics: Mapping[str, Metric], scope: Mapping[str, Any], hour: int | None) -> None:
        """Add one run's metrics (its ``scope`` names the cost's currency; ``hour`` is the run's, or None)."""
        predictions, correct = metrics.get(m.PREDICTIONS), metrics.get(m.CORRECT)
        if predictions is not None and correct is not None:
            self.predictions = add_metric(self.predictions, predictions)
            self.correct = add_metric(self.correct, correct)
            self.accuracy_runs += 1
        cost = metrics.get(m.TOTAL_COST)
        tokens = [(name, metrics[name]) for name in m.TOKENS if name in metrics]
        if not tokens and cost is None:
            return
        usage = None if hour is None else self.usage(hour // 24)
        if usage is not None:
            usage.runs += 1
        for name, value in tokens:
            self.tokens[name] = add_metric(self.tokens.get(name, 0), value)
            if usage is not None:
                usage.tokens[name] = add_metric(usage.tokens.get(name, 0), value)
        if cost is not None:
            currency = scope.get(m.CURRENCY) or m.DEFAULT_CURRENCY
            amount = to_decimal(cost)
            self.cost[currency] = self.cost.get(currency, Decimal(0)) + amount
            if usage is not None:
                usage.cost[currency] = usage.cost.get(currency, Decimal(0)) + amount

    def usage(self, day: int) -> Usage:
        usage = self.daily.get(day)
        if usage is None:
            usage = self.daily[day] = Usage()
        return usage

    def merge(self, other: Stats) -> None:
        self.runs += other.runs
        self.status.update(other.status)
        self.durations.merge(other.durations)
        for _, _, stuck in other.stuck_runs:
            self.add_stuck(stuck, count=0)
        self.stuck += other.stuck
        for key, n in other.errors.items():
            self.add_error(key, n)
        self.predictions = add_metric(self.predictions, other.predictions)
        self.correct = add_metric(self.correct, other.correct)
        self.accuracy_runs += other.accuracy_runs
        for name, value in other.tokens.items():
            self.tokens[name] = add_metric(self.tokens.get(name, 0), value)
        for currency, amount in other.cost.items():
            self.cost[currency] = self.cost.get(currency, Decimal(0)) + amount
        self.pending += other.pending
        self.reviewed += other.reviewed
        for hour, counts in other.hourly.items():
            mine = self.hourly.get(hour)
            if mine is None:
                self.hourly[hour] = Counter(counts)
            else:
                mine.update(counts)
        for day, usage in other.daily.items():
            self.usage(day).merge(usage)

    @classmethod
    def merged(cls, parts: Iterable[Stats]) -> Stats:
        total = cls()
        for part in parts:
            total.merge(part)
        return total

    # -- derived values

    @property
    def success_rate(self) -> float | None:
        """SUCCEEDED / (SUCCEEDED + FAILED); None when no run has finished either way."""
        ok, failed = self.status[RunStatus.SUCCEEDED], self.status[RunStatus.FAILED]
        return ok / (ok + failed) if ok + failed else None

    @property
    def accuracy(self) -> float | None:
        """sum(correct) / sum(predictions) over runs that report both; None when there are none."""
        return float(self.correct) / float(self.predictions) if self.predictions else None

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile of the durations (seconds); None without durations."""
        return self.durations.percentile(p)

    @property
    def duration_max(self) -> float | None:
        return self.durations.maximum

    def top_errors(self, n: int) -> list[tuple[str, int]]:
        return sorted(self.errors.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def oldest_stuck(self) -> list[StuckRun]:
        """The kept stuck runs, oldest first."""
        return [s for _, _, s in sorted(self.stuck_runs, key=lambda e: (-e[0], e[1]))]


@attrs.define(kw_only=True)
class SourceResult:
    """What reading one listing (one source, one configured scope) produced."""

    source: str
    adapter: str
    scope: Mapping[str, Any] = attrs.field(factory=dict)
    read_at: datetime | None = None
    finished_at: datetime | None = None
    read: int = 0  #: runs read from the platform (before the ``since`` cut-off)
    groups: dict[str, Stats] = attrs.field(factory=dict)
    error: str | None = None
    cursor: str | None = None  #: where the listing can resume after an error

    @property
    def ok(self) -> bool:
        return self.error is None


class Collector:
    """Folds runs of one listing into its :class:`SourceResult`, applying ``since`` and grouping."""

    def __init__(self, result: SourceResult, settings: ReportSettings) -> None:
        self.result = result
        self.since = settings.since
        self.stuck_before = settings.now - settings.stuck_after
        self.group_by = settings.group_by
        self.label = scope_label(result.scope)
        if not self.group_by:
            self.stats = result.groups.setdefault(self.label, Stats())

    def add(self, runs: Iterable[Run]) -> int:
        """Add runs (one page, say); returns how many were read."""
        result, since, stuck_before = self.result, self.since, self.stuck_before
        n = 0
        for run in runs:
            n += 1
            if since is not None:
                when = run.created_at or run.started_at
                if when is not None and when < since:
                    continue
            if self.group_by:
                label = group_label(run.scope, self.group_by)
                stats = result.groups.get(label)
                if stats is None:
                    stats = result.groups[label] = Stats()
            else:
                stats = self.stats
            stats.add(run, stuck_before)
        result.read += n
        return n


def group_label(scope: Mapping[str, Any], keys: Iterable[str]) -> str:
    """The row label of a run under ``--group-by``: ``key=value`` per key, ``-`` when the run lacks it."""
    return ",".join(f"{k}={scope.get(k, '-')}" for k in keys)
