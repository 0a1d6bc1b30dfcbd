"""The unified run report: streaming aggregation per source and scope, and its renderers.

Reading is split from reporting: :class:`Collector` folds runs page by page into a :class:`SourceResult` (it keeps
counters and one float per run duration, never the runs), :func:`build` turns SourceResults into a :class:`Report`,
and :func:`render` prints it as ``table``, ``markdown``, ``json`` or ``csv``. :mod:`runtrack.sources` does the
reading (connect, list, catch per-source errors); ``runtrack report`` and ``runtrack demo`` both use these.

Adapters put tokens, cost and accuracy counts in ``Run.metrics`` under the names in :mod:`runtrack.metrics`; cost
is a Decimal in the currency of ``Run.scope["currency"]`` (default ``USD``).
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs

from . import metrics as metric_names
from ._tables import clip, fmt_cost, fmt_datetime, fmt_duration, fmt_rate, markdown_table, text_table
from .convert import json_text
from .model import Metric, ReviewStatus, Run, RunStatus

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_CURRENCY",
    "FORMATS",
    "METRIC_CORRECT",
    "METRIC_INPUT_TOKENS",
    "METRIC_OUTPUT_TOKENS",
    "METRIC_PREDICTIONS",
    "METRIC_TOTAL_COST",
    "METRIC_TOTAL_TOKENS",
    "SCOPE_CURRENCY",
    "TOKEN_METRICS",
    "Collector",
    "Report",
    "ReportSettings",
    "ScopeRow",
    "SourceResult",
    "SourceSummary",
    "Stats",
    "build",
    "render",
    "report_dict",
    "scope_label",
]

# The metric names adapters use live in runtrack.metrics; these aliases keep the report's own spelling short.
METRIC_INPUT_TOKENS = metric_names.INPUT_TOKENS
METRIC_OUTPUT_TOKENS = metric_names.OUTPUT_TOKENS
METRIC_TOTAL_TOKENS = metric_names.TOTAL_TOKENS
METRIC_TOTAL_COST = metric_names.TOTAL_COST
METRIC_PREDICTIONS = metric_names.PREDICTIONS
METRIC_CORRECT = metric_names.CORRECT
SCOPE_CURRENCY = metric_names.CURRENCY
DEFAULT_CURRENCY = metric_names.DEFAULT_CURRENCY
TOKEN_METRICS = metric_names.TOKENS

FORMATS = ("table", "markdown", "json", "csv")
ALL_SCOPES = "(all)"
TOTAL = "(total)"
MAX_DISTINCT_ERRORS = 10_000
OTHER_ERRORS = "(other errors)"
ERROR_CHARS = 200
STATUSES = tuple(RunStatus)
_OPEN = (RunStatus.RUNNING, RunStatus.QUEUED)

#: Columns of ``--format csv``, in order (docs/cli.md describes each).
CSV_COLUMNS = (
    "level",
    "source",
    "adapter",
    "scope",
    "state",
    "read_at",
    "runs",
    *(s.value.lower() for s in STATUSES),
    "success_rate",
    "duration_p50_s",
    "duration_p95_s",
    "duration_max_s",
    "stuck",
    "accuracy",
    "predictions",
    "correct",
    *TOKEN_METRICS,
    "cost",
    "currency",
    "review_pending",
    "reviewed",
    "top_error",
    "error",
)


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


def _error_key(message: str) -> str:
    """One line that names an error: a Python traceback is named by its last line (the exception), anything
    else by its first line."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return "(empty error)"
    line = lines[-1] if lines[0].startswith("Traceback (most recent call last)") else lines[0]
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 3] + "..."


def _decimal(value: Metric) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _add(a: Metric, b: Metric) -> Metric:
    """``a + b`` for metric numbers; a Decimal on either side makes the sum exact (float + Decimal would fail)."""
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return _decimal(a) + _decimal(b)
    return a + b


class Stats:
    """Streaming counters for a set of runs. Durations are kept as floats (seconds) for the percentiles."""

    __slots__ = (
        "_sorted",
        "accuracy_runs",
        "correct",
        "cost",
        "durations",
        "errors",
        "pending",
        "predictions",
        "reviewed",
        "runs",
        "status",
        "stuck",
        "tokens",
    )

    def __init__(self) -> None:
        self.runs = 0
        self.status: Counter[RunStatus] = Counter()
        self.durations: list[float] = []
        self.stuck = 0
        self.errors: Counter[str] = Counter()
        self.predictions: Metric = 0
        self.accuracy_runs = 0  #: runs that reported both accuracy counts
        self.correct: Metric = 0
        self.tokens: dict[str, Metric] = {}
        self.cost: dict[str, Decimal] = {}
        self.pending = 0
        self.reviewed = 0
        self._sorted: list[float] | None = None

    def add(self, run: Run, stuck_before: datetime) -> None:
        self.runs += 1
        status = run.status
        self.status[status] += 1
        if run.started_at is not None and run.ended_at is not None:
            self.durations.append((run.ended_at - run.started_at).total_seconds())
            self._sorted = None
        if status in _OPEN:
            since = run.started_at or run.created_at
            if since is not None and since < stuck_before:
                self.stuck += 1
        if run.error:
            key = _error_key(run.error)
            if key in self.errors or len(self.errors) < MAX_DISTINCT_ERRORS:
                self.errors[key] += 1
            else:
                self.errors[OTHER_ERRORS] += 1
        if run.review_status is ReviewStatus.PENDING:
            self.pending += 1
        elif run.review_status is ReviewStatus.REVIEWED:
            self.reviewed += 1
        metrics = run.metrics
        if metrics:
            self._add_metrics(run, metrics)

    def _add_metrics(self, run: Run, metrics: Mapping[str, Metric]) -> None:
        predictions, correct = metrics.get(METRIC_PREDICTIONS), metrics.get(METRIC_CORRECT)
        if predictions is not None and correct is not None:
            self.predictions = _add(self.predictions, predictions)
            self.correct = _add(self.correct, correct)
            self.accuracy_runs += 1
        for name in TOKEN_METRICS:
            value = metrics.get(name)
            if value is not None:
                self.tokens[name] = _add(self.tokens.get(name, 0), value)
        cost = metrics.get(METRIC_TOTAL_COST)
        if cost is not None:
            currency = run.scope.get(SCOPE_CURRENCY) or DEFAULT_CURRENCY
            self.cost[currency] = self.cost.get(currency, Decimal(0)) + _decimal(cost)

    def merge(self, other: Stats) -> None:
        self.runs += other.runs
        self.status.update(other.status)
        self.durations.extend(other.durations)
        self._sorted = None
        self.stuck += other.stuck
        self.errors.update(other.errors)
        self.predictions = _add(self.predictions, other.predictions)
        self.correct = _add(self.correct, other.correct)
        self.accuracy_runs += other.accuracy_runs
        for name, value in other.tokens.items():
            self.tokens[name] = _add(self.tokens.get(name, 0), value)
        for currency, amount in other.cost.items():
            self.cost[currency] = self.cost.get(currency, Decimal(0)) + amount
        self.pending += other.pending
        self.reviewed += other.reviewed

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
        if not self.durations:
            return None
        if self._sorted is None:
            self._sorted = sorted(self.durations)
        data = self._sorted
        rank = max(1, math.ceil(p / 100 * len(data)))
        return data[min(rank, len(data)) - 1]

    @property
    def duration_max(self) -> float | None:
        return max(self.durations) if self.durations else None

    def top_errors(self, n: int) -> list[tuple[str, int]]:
        return sorted(self.errors.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


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
                label = ",".join(f"{k}={run.scope.get(k, '-')}" for k in self.group_by)
                stats = result.groups.get(label)
                if stats is None:
                    stats = result.groups[label] = Stats()
            else:
                stats = self.stats
            stats.add(run, stuck_before)
        result.read += n
        return n


# --------------------------------------------------------------------------- the report


@attrs.frozen(kw_only=True)
class ScopeRow:
    label: str
    stats: Stats
    error: str | None = None
    cursor: str | None = None


@attrs.frozen(kw_only=True)
class SourceSummary:
    """One configured source: its listings' rows, totals, and failures."""

    name: str
    adapter: str
    read_at: datetime | None
    finished_at: datetime | None
    read: int
    rows: tuple[ScopeRow, ...]
    totals: Stats
    errors: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        return "failed" if self.errors else "ok"


@attrs.frozen(kw_only=True)
class Report:
    settings: ReportSettings
    sources: tuple[SourceSummary, ...]

    @property
    def ok(self) -> bool:
        """True when every source was read completely."""
        return all(not s.errors for s in self.sources)


def build(results: Iterable[SourceResult], settings: ReportSettings | None = None) -> Report:
    """The report over SourceResults (several results of one source are merged, in order of appearance)."""
    settings = settings or ReportSettings()
    by_source: dict[str, list[SourceResult]] = {}
    for r in results:
        by_source.setdefault(r.source, []).append(r)
    sources = tuple(_summarize(name, parts, settings.group_by) for name, parts in by_source.items())
    return Report(settings=settings, sources=sources)


def _summarize(name: str, parts: Sequence[SourceResult], group_by: Sequence[str]) -> SourceSummary:
    groups: dict[str, Stats] = {}
    failures: dict[str, SourceResult] = {}
    for part in parts:
        label = scope_label(part.scope)
        if not group_by or part.error is not None:
            groups.setdefault(label, Stats())  # every listing has its row, also one that failed before any run
        for group, stats in part.groups.items():
            groups.setdefault(group, Stats()).merge(stats)
        if part.error is not None:
            failures[label] = part
    rows = []
    for label, stats in groups.items():
        failed = failures.get(label)
        rows.append(
            ScopeRow(
                label=label,
                stats=stats,
                error=failed.error if failed else None,
                cursor=failed.cursor if failed else None,
            )
        )
    read_ats = [p.read_at for p in parts if p.read_at is not None]
    finished = [p.finished_at for p in parts if p.finished_at is not None]
    errors = tuple(
        p.error if p.scope == {} or len(parts) == 1 else f"{scope_label(p.scope)}: {p.error}"
        for p in parts
        if p.error is not None
    )
    return SourceSummary(
        name=name,
        adapter=parts[0].adapter,
        read_at=min(read_ats) if read_ats else None,
        finished_at=max(finished) if finished else None,
        read=sum(p.read for p in parts),
        rows=tuple(rows),
        totals=Stats.merged(groups.values()),
        errors=errors,
    )


# --------------------------------------------------------------------------- JSON


def _number(value: Metric) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def stats_dict(stats: Stats, top_errors: int) -> dict[str, Any]:
    """The JSON form of :class:`Stats` (money as exact decimal strings, durations in seconds)."""
    return {
        "runs": stats.runs,
        "status": {s.value: stats.status[s] for s in STATUSES},
        "success_rate": stats.success_rate,
        "duration_seconds": {
            "p50": stats.percentile(50),
            "p95": stats.percentile(95),
            "max": stats.duration_max,
            "count": len(stats.durations),
        },
        "stuck": stats.stuck,
        "accuracy": stats.accuracy,
        "predictions": _number(stats.predictions) if stats.accuracy_runs else None,
        "correct": _number(stats.correct) if stats.accuracy_runs else None,
        "tokens": {name.removesuffix("_tokens"): _number(stats.tokens[name]) for name in stats.tokens},
        "cost": {currency: str(amount) for currency, amount in sorted(stats.cost.items())},
        "review": {"pending": stats.pending, "reviewed": stats.reviewed},
        "top_errors": [{"message": m, "count": c} for m, c in stats.top_errors(top_errors)],
    }


def report_dict(report: Report) -> dict[str, Any]:
    """The JSON document of ``--format json``."""
    s = report.settings
    return {
        "generated_at": fmt_datetime(s.now),
        "since": fmt_datetime(s.since) or None,
        "stuck_after_seconds": s.stuck_after.total_seconds(),
        "group_by": list(s.group_by),
        "ok": report.ok,
        "sources": [
            {
                "name": src.name,
                "adapter": src.adapter,
                "state": src.state,
                "read_at": fmt_datetime(src.read_at) or None,
                "finished_at": fmt_datetime(src.finished_at) or None,
                "read": src.read,
                "errors": list(src.errors),
                "totals": stats_dict(src.totals, s.top_errors),
                "scopes": [
                    {
                        "scope": row.label,
                        "state": "failed" if row.error else "ok",
                        "error": row.error,
                        "cursor": row.cursor,
                        **stats_dict(row.stats, s.top_errors),
                    }
                    for row in src.rows
                ],
            }
            for src in report.sources
        ],
    }


# --------------------------------------------------------------------------- CSV


def _csv_number(value: float | Metric | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def _csv_row(level: str, src: SourceSummary, label: str, stats: Stats, state: str, error: str) -> list[str]:
    top = stats.top_errors(1)
    currencies = sorted(stats.cost)
    return [
        level,
        src.name,
        src.adapter,
        label,
        state,
        fmt_datetime(src.read_at),
        str(stats.runs),
        *(str(stats.status[s]) for s in STATUSES),
        _csv_number(stats.success_rate),
        _csv_number(stats.percentile(50)),
        _csv_number(stats.percentile(95)),
        _csv_number(stats.duration_max),
        str(stats.stuck),
        _csv_number(stats.accuracy),
        _csv_number(stats.predictions) if stats.accuracy_runs else "",
        _csv_number(stats.correct) if stats.accuracy_runs else "",
        *(_csv_number(stats.tokens.get(name)) for name in TOKEN_METRICS),
        ";".join(str(stats.cost[c]) for c in currencies),
        ";".join(currencies),
        str(stats.pending),
        str(stats.reviewed),
        top[0][0] if top else "",
        error,
    ]


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for src in report.sources:
        writer.writerow(_csv_row("source", src, TOTAL, src.totals, src.state, "; ".join(src.errors)))
        for row in src.rows:
            state = "failed" if row.error else "ok"
            writer.writerow(_csv_row("scope", src, row.label, row.stats, state, row.error or ""))
    return out.getvalue()


# --------------------------------------------------------------------------- table and Markdown

_SOURCE_HEADERS = ("SOURCE", "ADAPTER", "STATE", "READ AT", "READ", "IN REPORT", "ERROR")
_STATUS_HEADERS = ("SOURCE", "SCOPE", "RUNS", *(s.value for s in STATUSES), "SUCCESS", "STUCK")
_DETAIL_HEADERS = (
    "SOURCE",
    "SCOPE",
    "P50",
    "P95",
    "MAX",
    "ACCURACY",
    "INPUT TOK",
    "OUTPUT TOK",
    "TOTAL TOK",
    "COST",
    "PENDING",
    "REVIEWED",
)
_ERROR_HEADERS = ("SOURCE", "COUNT", "ERROR")


def _scope_rows(report: Report) -> list[tuple[SourceSummary, str, Stats]]:
    rows: list[tuple[SourceSummary, str, Stats]] = []
    for src in report.sources:
        rows.extend((src, row.label, row.stats) for row in src.rows)
        if len(src.rows) != 1:
            rows.append((src, TOTAL, src.totals))
    return rows


def _sections(report: Report) -> list[tuple[str, Sequence[str], list[list[str]], Sequence[bool]]]:
    s = report.settings
    sources = [
        [
            src.name,
            src.adapter,
            src.state,
            fmt_datetime(src.read_at),
            str(src.read),
            str(src.totals.runs),
            clip("; ".join(src.errors), 160),
        ]
        for src in report.sources
    ]
    scoped = _scope_rows(report)
    status = [
        [
            src.name,
            label,
            str(st.runs),
            *(str(st.status[x]) for x in STATUSES),
            fmt_rate(st.success_rate),
            str(st.stuck),
        ]
        for src, label, st in scoped
    ]
    detail = [
        [
            src.name,
            label,
            fmt_duration(st.percentile(50)),
            fmt_duration(st.percentile(95)),
            fmt_duration(st.duration_max),
            fmt_rate(st.accuracy),
            *(_csv_number(st.tokens.get(name)) for name in TOKEN_METRICS),
            fmt_cost(st.cost),
            str(st.pending),
            str(st.reviewed),
        ]
        for src, label, st in scoped
    ]
    errors = [[src.name, str(n), clip(msg)] for src in report.sources for msg, n in src.totals.top_errors(s.top_errors)]
    n_status = len(_STATUS_HEADERS)
    sections: list[tuple[str, Sequence[str], list[list[str]], Sequence[bool]]] = [
        ("Sources", _SOURCE_HEADERS, sources, (False, False, False, False, True, True, False)),
        (
            f"Runs by status (stuck: RUNNING/QUEUED for more than {fmt_duration(s.stuck_after.total_seconds())})",
            _STATUS_HEADERS,
            status,
            (False, False, *([True] * (n_status - 2))),
        ),
        (
            "Durations, accuracy, tokens, cost, review backlog",
            _DETAIL_HEADERS,
            detail,
            (False, False, *([True] * (len(_DETAIL_HEADERS) - 2))),
        ),
    ]
    if s.top_errors and errors:
        sections.append((f"Top errors (up to {s.top_errors} per source)", _ERROR_HEADERS, errors, (False, True, False)))
    return sections


def _title(report: Report) -> str:
    s = report.settings
    since = f", runs created since {fmt_datetime(s.since)}" if s.since else ""
    failed = [src.name for src in report.sources if src.errors]
    state = f" - FAILED: {', '.join(failed)}" if failed else ""
    return f"runtrack report, generated {fmt_datetime(s.now)}{since}{state}"


def render_table(report: Report) -> str:
    parts = [_title(report)]
    for title, headers, rows, right in _sections(report):
        parts.append(f"\n{title}\n" + text_table(headers, rows, right))
    return "\n".join(parts) + "\n"


def render_markdown(report: Report) -> str:
    parts = [f"# {_title(report)}"]
    for title, headers, rows, right in _sections(report):
        parts.append(f"\n## {title}\n\n" + markdown_table([h.title() for h in headers], rows, right))
    return "\n".join(parts) + "\n"


def render(report: Report, fmt: str = "table") -> str:
    """The report as ``table``, ``markdown``, ``json`` or ``csv`` text."""
    if fmt == "table":
        return render_table(report)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "json":
        return json_text(report_dict(report), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return render_csv(report)
    raise ValueError(f"unknown report format {fmt!r}; valid: {', '.join(FORMATS)}")
