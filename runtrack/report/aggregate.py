"""The report aggregate: frozen, JSON-able values computed once from :class:`~.stats.Stats`, which every format
renders (:mod:`.render`), so the formats cannot disagree.

:func:`build` turns the :class:`SourceResult` of each listing into a :class:`Report`; :func:`report_dict` is its
JSON document (``--format json``, and what ``runtrack serve`` returns for ``GET /v1/report``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

import attrs

from .. import metrics as m
from .._tables import fmt_datetime
from ..model import Metric, RunStatus
from .durations import DURATION_BINS
from .stats import ReportSettings, SourceResult, Stats, StuckRun, scope_label

__all__ = [
    "HOURLY_SPAN",
    "STATUSES",
    "TOTAL",
    "DayUsage",
    "DurationSummary",
    "ErrorCount",
    "Report",
    "ScopeRow",
    "SourceSummary",
    "Summary",
    "SyncChange",
    "TimeBucket",
    "build",
    "report_dict",
    "summarize",
    "summary_dict",
]

STATUSES = tuple(RunStatus)
TOTAL = "(total)"
#: the status timeline is per hour when every run lies within this span, else per day
HOURLY_SPAN = timedelta(hours=72)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@attrs.frozen(kw_only=True)
class DurationSummary:
    """Durations in seconds: percentiles (exact up to 4096 values, else within 1 %), max, and display bins."""

    count: int
    p50: float | None
    p95: float | None
    max: float | None
    exact: bool
    #: counts per bin: below each edge of :data:`~.durations.DURATION_BINS`, then the rest
    histogram: tuple[int, ...]


@attrs.frozen(kw_only=True)
class ErrorCount:
    message: str
    count: int


@attrs.frozen(kw_only=True)
class Summary:
    """The numbers of one set of runs (a scope row or a source's total)."""

    runs: int
    status: Mapping[RunStatus, int]
    success_rate: float | None
    durations: DurationSummary
    stuck: int
    accuracy: float | None
    predictions: Metric | None  #: None when no run reported both accuracy counts
    correct: Metric | None
    tokens: Mapping[str, Metric]  #: by :data:`runtrack.metrics.TOKENS` name, only those reported
    cost: Mapping[str, Decimal]  #: exact sums per currency
    pending: int
    reviewed: int
    top_errors: tuple[ErrorCount, ...]


@attrs.frozen(kw_only=True)
class TimeBucket:
    """Runs by status created in one hour or day (see :attr:`Report.bucket`)."""

    start: datetime
    status: Mapping[RunStatus, int]

    @property
    def runs(self) -> int:
        return sum(self.status.values())


@attrs.frozen(kw_only=True)
class DayUsage:
    """Tokens and cost of the runs created on one (UTC) day."""

    day: date
    runs: int  #: runs that reported tokens or cost
    tokens: Mapping[str, Metric]
    cost: Mapping[str, Decimal]


@attrs.frozen(kw_only=True)
class ScopeRow:
    label: str
    summary: Summary
    error: str | None = None
    cursor: str | None = None


@attrs.frozen(kw_only=True)
class SourceSummary:
    """One configured source: its listings' rows, totals, failures, timeline, daily usage and stuck runs."""

    name: str
    adapter: str
    read_at: datetime | None
    finished_at: datetime | None
    read: int
    rows: tuple[ScopeRow, ...]
    totals: Summary
    errors: tuple[str, ...] = ()
    timeline: tuple[TimeBucket, ...] = ()
    usage: tuple[DayUsage, ...] = ()
    stuck_runs: tuple[StuckRun, ...] = ()  #: the oldest, at most STUCK_LISTED per listing

    @property
    def state(self) -> str:
        return "failed" if self.errors else "ok"


@attrs.frozen(kw_only=True)
class SyncChange:
    """From a store: what the latest sync of a source changed, compared with the previous one."""

    source: str
    finished_at: datetime | None
    previous_at: datetime | None  #: when the sync before it finished (None: this was the first)
    read: int
    inserted: int
    changed: int
    deleted: int
    complete: bool
    error: str | None = None
    #: status transitions seen since the previous sync: (from, to) -> runs; from is None for new runs
    transitions: Mapping[tuple[RunStatus | None, RunStatus], int] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Report:
    settings: ReportSettings
    sources: tuple[SourceSummary, ...]
    #: the unit of every source's timeline
    bucket: Literal["hour", "day"] = "day"
    #: from a store only: the store's path and what the last sync per source changed
    store: str | None = None
    changes: tuple[SyncChange, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every source was read completely."""
        return all(not s.errors for s in self.sources)


# --------------------------------------------------------------------------- building


def summarize(stats: Stats, top_errors: int) -> Summary:
    d = stats.durations
    return Summary(
        runs=stats.runs,
        status={s: stats.status[s] for s in STATUSES},
        success_rate=stats.success_rate,
        durations=DurationSummary(
            count=d.count,
            p50=d.percentile(50),
            p95=d.percentile(95),
            max=d.maximum,
            exact=d.is_exact,
            histogram=d.histogram(),
        ),
        stuck=stats.stuck,
        accuracy=stats.accuracy,
        predictions=stats.predictions if stats.accuracy_runs else None,
        correct=stats.correct if stats.accuracy_runs else None,
        tokens={name: stats.tokens[name] for name in m.TOKENS if name in stats.tokens},
        cost=dict(sorted(stats.cost.items())),
        pending=stats.pending,
        reviewed=stats.reviewed,
        top_errors=tuple(ErrorCount(message=k, count=n) for k, n in stats.top_errors(top_errors)),
    )


def build(
    results: Iterable[SourceResult],
    settings: ReportSettings | None = None,
    *,
    store: str | None = None,
    changes: Sequence[SyncChange] = (),
) -> Report:
    """The report over SourceResults (several results of one source are merged, in order of appearance)."""
    settings = settings or ReportSettings()
    by_source: dict[str, list[SourceResult]] = {}
    for r in results:
        by_source.setdefault(r.source, []).append(r)
    merged = {name: _merge(parts, settings.group_by) for name, parts in by_source.items()}
    hours = [h for _, totals in merged.values() for h in totals.hourly]
    hourly = bool(hours) and max(hours) - min(hours) < HOURLY_SPAN.total_seconds() // 3600
    sources = tuple(
        _summarize(name, by_source[name], groups, totals, settings, hourly) for name, (groups, totals) in merged.items()
    )
    return Report(
        settings=settings, sources=sources, bucket="hour" if hourly else "day", store=store, changes=tuple(changes)
    )


def _merge(parts: Sequence[SourceResult], group_by: Sequence[str]) -> tuple[dict[str, Stats], Stats]:
    groups: dict[str, Stats] = {}
    for part in parts:
        if not group_by or part.error is not None:
            groups.setdefault(scope_label(part.scope), Stats())  # every listing has its row, also a failed one
        for group, stats in part.groups.items():
            groups.setdefault(group, Stats()).merge(stats)
    if group_by:  # rows by value, whatever order the runs came in (live pages, the store)
        groups = dict(sorted(groups.items()))
    return groups, Stats.merged(groups.values())


def _timeline(totals: Stats, hourly: bool) -> tuple[TimeBucket, ...]:
    if hourly:
        buckets = totals.hourly
    else:
        buckets = {}
        for hour, counts in totals.hourly.items():
            day = buckets.get(hour // 24)
            if day is None:
                buckets[hour // 24] = Counter(counts)
            else:
                day.update(counts)
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    return tuple(
        TimeBucket(start=_EPOCH + key * step, status={s: counts[s] for s in STATUSES})
        for key, counts in sorted(buckets.items())
    )


def _summarize(
    name: str,
    parts: Sequence[SourceResult],
    groups: Mapping[str, Stats],
    totals: Stats,
    settings: ReportSettings,
    hourly: bool,
) -> SourceSummary:
    failures = {scope_label(p.scope): p for p in parts if p.error is not None}
    rows = tuple(
        ScopeRow(
            label=label,
            summary=summarize(stats, settings.top_errors),
            error=failures[label].error if label in failures else None,
            cursor=failures[label].cursor if label in failures else None,
        )
        for label, stats in groups.items()
    )
    read_ats = [p.read_at for p in parts if p.read_at is not None]
    finished = [p.finished_at for p in parts if p.finished_at is not None]
    errors = tuple(
        p.error if p.scope == {} or len(parts) == 1 else f"{scope_label(p.scope)}: {p.error}"
        for p in parts
        if p.error is not None
    )
    usage = tuple(
        DayUsage(
            day=(_EPOCH + timedelta(days=day)).date(),
            runs=u.runs,
            tokens={k: u.tokens[k] for k in m.TOKENS if k in u.tokens},
            cost=dict(sorted(u.cost.items())),
        )
        for day, u in sorted(totals.daily.items())
    )
    return SourceSummary(
        name=name,
        adapter=parts[0].adapter,
        read_at=min(read_ats) if read_ats else None,
        finished_at=max(finished) if finished else None,
        read=sum(p.read for p in parts),
        rows=rows,
        totals=summarize(totals, settings.top_errors),
        errors=errors,
        timeline=_timeline(totals, hourly),
        usage=usage,
        stuck_runs=tuple(totals.oldest_stuck()),
    )


# --------------------------------------------------------------------------- JSON


def _number(value: Metric | None) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _tokens(tokens: Mapping[str, Metric]) -> dict[str, Any]:
    return {name.removesuffix("_tokens"): _number(value) for name, value in tokens.items()}


def _cost(cost: Mapping[str, Decimal]) -> dict[str, str]:
    return {currency: str(amount) for currency, amount in cost.items()}


def summary_dict(s: Summary) -> dict[str, Any]:
    """The JSON form of a :class:`Summary` (money as exact decimal strings, durations in seconds)."""
    d = s.durations
    return {
        "runs": s.runs,
        "status": {k.value: n for k, n in s.status.items()},
        "success_rate": s.success_rate,
        "duration_seconds": {
            "p50": d.p50,
            "p95": d.p95,
            "max": d.max,
            "count": d.count,
            "exact": d.exact,
            "histogram": [
                {"below": edge, "count": n} for edge, n in zip((*DURATION_BINS, None), d.histogram, strict=True)
            ],
        },
        "stuck": s.stuck,
        "accuracy": s.accuracy,
        "predictions": _number(s.predictions),
        "correct": _number(s.correct),
        "tokens": _tokens(s.tokens),
        "cost": _cost(s.cost),
        "review": {"pending": s.pending, "reviewed": s.reviewed},
        "top_errors": [{"message": e.message, "count": e.count} for e in s.top_errors],
    }


def _stuck_dict(r: StuckRun) -> dict[str, Any]:
    return {
        "uid": r.uid,
        "native_id": r.native_id,
        "name": r.name,
        "status": r.status.value,
        "since": fmt_datetime(r.since),
        "url": r.url,
    }


def _change_dict(c: SyncChange) -> dict[str, Any]:
    return {
        "source": c.source,
        "finished_at": fmt_datetime(c.finished_at) or None,
        "previous_at": fmt_datetime(c.previous_at) or None,
        "read": c.read,
        "inserted": c.inserted,
        "changed": c.changed,
        "deleted": c.deleted,
        "complete": c.complete,
        "error": c.error,
        "transitions": [
            {"from": old.value if old else None, "to": new.value, "runs": n} for (old, new), n in c.transitions.items()
        ],
    }


def report_dict(report: Report) -> dict[str, Any]:
    """The JSON document of ``--format json``."""
    s = report.settings
    doc: dict[str, Any] = {
        "generated_at": fmt_datetime(s.now),
        "since": fmt_datetime(s.since) or None,
        "stuck_after_seconds": s.stuck_after.total_seconds(),
        "group_by": list(s.group_by),
        "ok": report.ok,
        "bucket": report.bucket,
        "sources": [
            {
                "name": src.name,
                "adapter": src.adapter,
                "state": src.state,
                "read_at": fmt_datetime(src.read_at) or None,
                "finished_at": fmt_datetime(src.finished_at) or None,
                "read": src.read,
                "errors": list(src.errors),
                "totals": summary_dict(src.totals),
                "scopes": [
                    {
                        "scope": row.label,
                        "state": "failed" if row.error else "ok",
                        "error": row.error,
                        "cursor": row.cursor,
                        **summary_dict(row.summary),
                    }
                    for row in src.rows
                ],
                "timeline": [
                    {"start": fmt_datetime(b.start), "status": {k.value: n for k, n in b.status.items()}}
                    for b in src.timeline
                ],
                "usage": [
                    {"day": u.day.isoformat(), "runs": u.runs, "tokens": _tokens(u.tokens), "cost": _cost(u.cost)}
                    for u in src.usage
                ],
                "stuck_runs": [_stuck_dict(r) for r in src.stuck_runs],
            }
            for src in report.sources
        ],
    }
    if report.store is not None:
        doc["store"] = report.store
        doc["changes"] = [_change_dict(c) for c in report.changes]
    return doc
