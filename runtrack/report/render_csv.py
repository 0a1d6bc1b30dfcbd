"""``--format csv``: one row per source total and per scope (columns in :data:`CSV_COLUMNS`)."""

from __future__ import annotations

import csv
import io

from .._tables import fmt_datetime
from ..metrics import TOKENS
from ..model import Metric
from .aggregate import STATUSES, TOTAL, Report, SourceSummary, Summary

__all__ = ["CSV_COLUMNS", "csv_number", "render_csv"]

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
    *TOKENS,
    "cost",
    "currency",
    "review_pending",
    "reviewed",
    "top_error",
    "error",
)


def csv_number(value: float | Metric | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def _row(level: str, src: SourceSummary, label: str, s: Summary, state: str, error: str) -> list[str]:
    return [
        level,
        src.name,
        src.adapter,
        label,
        state,
        fmt_datetime(src.read_at),
        str(s.runs),
        *(str(s.status[x]) for x in STATUSES),
        csv_number(s.success_rate),
        csv_number(s.durations.p50),
        csv_number(s.durations.p95),
        csv_number(s.durations.max),
        str(s.stuck),
        csv_number(s.accuracy),
        csv_number(s.predictions),
        csv_number(s.correct),
        *(csv_number(s.tokens.get(name)) for name in TOKENS),
        ";".join(str(amount) for amount in s.cost.values()),
        ";".join(s.cost),
        str(s.pending),
        str(s.reviewed),
        s.top_errors[0].message if s.top_errors else "",
        error,
    ]


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for src in report.sources:
        writer.writerow(_row("source", src, TOTAL, src.totals, src.state, "; ".join(src.errors)))
        for row in src.rows:
            state = "failed" if row.error else "ok"
            writer.writerow(_row("scope", src, row.label, row.summary, state, row.error or ""))
    return out.getvalue()
