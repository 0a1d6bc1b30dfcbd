"""``--format table`` and ``--format markdown``: the same sections, as padded columns or pipe tables."""

from __future__ import annotations

from collections.abc import Sequence

from .._tables import clip, fmt_cost, fmt_datetime, fmt_duration, fmt_rate, markdown_table, text_table
from ..metrics import TOKENS
from .aggregate import STATUSES, TOTAL, Report, SourceSummary, Summary
from .render_csv import csv_number

__all__ = ["render_markdown", "render_table", "title"]

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
_CHANGE_HEADERS = ("SOURCE", "SYNCED AT", "PREVIOUS", "READ", "NEW", "CHANGED", "DELETED", "STATE")

Section = tuple[str, Sequence[str], list[list[str]], Sequence[bool]]


def scope_rows(report: Report) -> list[tuple[SourceSummary, str, Summary]]:
    """Each source's scope rows, then its total when it has more than one row."""
    rows: list[tuple[SourceSummary, str, Summary]] = []
    for src in report.sources:
        rows.extend((src, row.label, row.summary) for row in src.rows)
        if len(src.rows) != 1:
            rows.append((src, TOTAL, src.totals))
    return rows


def _sections(report: Report) -> list[Section]:
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
    scoped = scope_rows(report)
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
            fmt_duration(st.durations.p50),
            fmt_duration(st.durations.p95),
            fmt_duration(st.durations.max),
            fmt_rate(st.accuracy),
            *(csv_number(st.tokens.get(name)) for name in TOKENS),
            fmt_cost(st.cost),
            str(st.pending),
            str(st.reviewed),
        ]
        for src, label, st in scoped
    ]
    errors = [[src.name, str(e.count), clip(e.message)] for src in report.sources for e in src.totals.top_errors]
    right_status = (False, False, *([True] * (len(_STATUS_HEADERS) - 2)))
    right_detail = (False, False, *([True] * (len(_DETAIL_HEADERS) - 2)))
    sections: list[Section] = [
        ("Sources", _SOURCE_HEADERS, sources, (False, False, False, False, True, True, False)),
        (
            f"Runs by status (stuck: RUNNING/QUEUED for more than {fmt_duration(s.stuck_after.total_seconds())})",
            _STATUS_HEADERS,
            status,
            right_status,
        ),
        ("Durations, accuracy, tokens, cost, review backlog", _DETAIL_HEADERS, detail, right_detail),
    ]
    if s.top_errors and errors:
        sections.append((f"Top errors (up to {s.top_errors} per source)", _ERROR_HEADERS, errors, (False, True, False)))
    if report.changes:
        changes = [
            [
                c.source,
                fmt_datetime(c.finished_at),
                fmt_datetime(c.previous_at) or "(first sync)",
                str(c.read),
                str(c.inserted),
                str(c.changed),
                str(c.deleted),
                "complete" if c.complete else f"incomplete: {clip(c.error or '', 80)}",
            ]
            for c in report.changes
        ]
        right = (False, False, False, True, True, True, True, False)
        sections.append(("Changed by the last sync (from the store)", _CHANGE_HEADERS, changes, right))
    return sections


def title(report: Report) -> str:
    s = report.settings
    since = f", runs created since {fmt_datetime(s.since)}" if s.since else ""
    failed = [src.name for src in report.sources if src.errors]
    state = f" - FAILED: {', '.join(failed)}" if failed else ""
    return f"runtrack report, generated {fmt_datetime(s.now)}{since}{state}"


def render_table(report: Report) -> str:
    parts = [title(report)]
    for heading, headers, rows, right in _sections(report):
        parts.append(f"\n{heading}\n" + text_table(headers, rows, right))
    return "\n".join(parts) + "\n"


def render_markdown(report: Report) -> str:
    parts = [f"# {title(report)}"]
    for heading, headers, rows, right in _sections(report):
        parts.append(f"\n## {heading}\n\n" + markdown_table([h.title() for h in headers], rows, right))
    return "\n".join(parts) + "\n"
