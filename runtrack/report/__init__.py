"""The unified run report: streaming aggregation (:mod:`.stats`), one aggregate (:mod:`.aggregate`), and the
renderers of every format (:mod:`.render`).

Reading is split from reporting: :class:`Collector` folds runs page by page into a :class:`SourceResult`,
:func:`build` turns SourceResults into a :class:`Report` (frozen, JSON-able: :func:`report_dict`), and
:func:`render` prints it as ``table``, ``markdown``, ``json``, ``csv`` or ``html``. :mod:`runtrack.sources` does the
reading (connect, list, catch per-source errors); ``runtrack report`` and ``runtrack demo`` both use these. Metric
names live in :mod:`runtrack.metrics` only.
"""

from __future__ import annotations

from .aggregate import (
    STATUSES,
    TOTAL,
    DayUsage,
    DurationSummary,
    ErrorCount,
    Report,
    ScopeRow,
    SourceSummary,
    Summary,
    SyncChange,
    TimeBucket,
    build,
    report_dict,
    summarize,
    summary_dict,
)
from .render import FORMATS, RENDERERS, render
from .render_csv import CSV_COLUMNS
from .stats import Collector, ReportSettings, SourceResult, Stats, StuckRun, scope_label

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "RENDERERS",
    "STATUSES",
    "TOTAL",
    "Collector",
    "DayUsage",
    "DurationSummary",
    "ErrorCount",
    "Report",
    "ReportSettings",
    "ScopeRow",
    "SourceResult",
    "SourceSummary",
    "Stats",
    "StuckRun",
    "Summary",
    "SyncChange",
    "TimeBucket",
    "build",
    "render",
    "report_dict",
    "scope_label",
    "summarize",
    "summary_dict",
]
