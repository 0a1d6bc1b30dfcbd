"""Every report format, rendered from one :class:`~.aggregate.Report`: a registry of format name -> renderer."""

from __future__ import annotations

import json
from collections.abc import Callable

from .aggregate import Report, report_dict
from .render_csv import render_csv
from .render_html import render_html
from .render_text import render_markdown, render_table

__all__ = ["FORMATS", "RENDERERS", "render", "render_json"]


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[Report], str]] = {
    "table": render_table,
    "markdown": render_markdown,
    "json": render_json,
    "csv": render_csv,
    "html": render_html,
}
FORMATS = tuple(RENDERERS)


def render(report: Report, fmt: str = "table") -> str:
    """The report as text in ``fmt`` (one of :data:`FORMATS`)."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r}; valid: {', '.join(FORMATS)}") from None
    return renderer(report)
