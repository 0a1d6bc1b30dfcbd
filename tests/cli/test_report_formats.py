"""Every report format is rendered from one aggregate: parse each back and check they say the same numbers."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from runtrack import report
from runtrack.report import FORMATS, STATUSES, TOTAL, build, render

from .test_report import SETTINGS, _markdown_tables, collect

#: (source, scope) -> the figures every format shows: runs, each status, success rate, stuck, review backlog
Figures = dict[tuple[str, str], dict[str, str]]
FIELDS = ("runs", *(s.value for s in STATUSES), "success", "stuck", "pending", "reviewed")


@pytest.fixture(scope="module")
def aggregate() -> report.Report:
    failed = report.SourceResult(source="beta", adapter="clitest", scope={"box": "c"}, read_at=SETTINGS.now)
    failed.error = "boom | <pipe>"
    return build([collect("alpha", "a"), collect("alpha", "b"), failed], SETTINGS)


def _pct(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}%"


def from_aggregate(rep: report.Report) -> Figures:
    out: Figures = {}
    for src in rep.sources:
        rows = [(row.label, row.summary) for row in src.rows] + [(TOTAL, src.totals)]
        for label, s in rows:
            out[(src.name, label)] = {
                "runs": str(s.runs),
                **{k.value: str(n) for k, n in s.status.items()},
                "success": _pct(s.success_rate),
                "stuck": str(s.stuck),
                "pending": str(s.pending),
                "reviewed": str(s.reviewed),
            }
    return out


def _columns(lines: list[str], header: str) -> list[dict[str, str]]:
    """Rows of the text table whose header line matches ``header``, cut at the columns of the dashes under it."""
    i = next(n for n, line in enumerate(lines) if re.match(header, line))
    spans = [m.span() for m in re.finditer(r"-+", lines[i + 1])]
    names = [lines[i][a:b].strip() if k < len(spans) - 1 else lines[i][a:].strip() for k, (a, b) in enumerate(spans)]
    rows = []
    for line in lines[i + 2 :]:
        if not line.strip():
            break
        padded = line.ljust(len(lines[i + 1]))
        rows.append({name: padded[a:b].strip() for name, (a, b) in zip(names, spans, strict=True)})
    return rows


def from_table(text: str) -> Figures:
    lines = text.splitlines()
    status = _columns(lines, r"SOURCE +SCOPE +RUNS ")
    detail = _columns(lines, r"SOURCE +SCOPE +P50 ")
    out: Figures = {}
    for st, de in zip(status, detail, strict=True):
        key = (st["SOURCE"], st["SCOPE"])
        out[key] = {f: st[f.upper()] for f in FIELDS if f.upper() in st} | {
            "pending": de["PENDING"],
            "reviewed": de["REVIEWED"],
        }
    return out


def from_markdown(text: str) -> Figures:
    tables = _markdown_tables(text)
    status, detail = tables[1], tables[2]
    out: Figures = {}
    for st, de in zip(status[2:], detail[2:], strict=True):
        s = dict(zip(status[0], st, strict=True))
        d = dict(zip(detail[0], de, strict=True))
        out[(s["Source"], s["Scope"])] = {f: s[f.title()] for f in FIELDS if f.title() in s} | {
            "pending": d["Pending"],
            "reviewed": d["Reviewed"],
        }
    return out


def from_json(text: str) -> Figures:
    doc = json.loads(text)
    out: Figures = {}
    for src in doc["sources"]:
        for label, s in [(row["scope"], row) for row in src["scopes"]] + [(TOTAL, src["totals"])]:
            out[(src["name"], label)] = {
                "runs": str(s["runs"]),
                **{k: str(n) for k, n in s["status"].items()},
                "success": _pct(s["success_rate"]),
                "stuck": str(s["stuck"]),
                "pending": str(s["review"]["pending"]),
                "reviewed": str(s["review"]["reviewed"]),
            }
    return out


def from_csv(text: str) -> Figures:
    out: Figures = {}
    for r in csv.DictReader(io.StringIO(text)):
        rate = r["success_rate"]
        out[(r["source"], r["scope"])] = {
            "runs": r["runs"],
            **{s.value: r[s.value.lower()] for s in STATUSES},
            "success": _pct(float(rate)) if rate else "",
            "stuck": r["stuck"],
            "pending": r["review_pending"],
            "reviewed": r["reviewed"],
        }
    return out


class _Tables(HTMLParser):
    """The ``<table data-table=NAME>`` tables of a page: name -> rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = dict(attrs).get("data-table")
        if tag == "table" and name:
            self._table = self.tables.setdefault(name, [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_tables(text: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(text)
    return parser.tables


def from_html(text: str) -> Figures:
    tables = html_tables(text)
    status = tables["status"]
    out: Figures = {}
    for row in status[1:]:
        s = dict(zip(status[0], row, strict=True))
        out[(s["Source"], s["Scope"])] = {f: s[f.title()] for f in FIELDS if f.title() in s}
    review = tables.get("review", [])
    for row in review[1:]:
        r = dict(zip(review[0], row, strict=True))
        out[(r["Source"], r["Scope"])] |= {"pending": r["Pending"], "reviewed": r["Reviewed"]}
    return out


PARSERS: dict[str, Callable[[str], Figures]] = {
    "table": from_table,
    "markdown": from_markdown,
    "json": from_json,
    "csv": from_csv,
    "html": from_html,
}


def test_every_format_has_a_parser_here() -> None:
    assert set(PARSERS) == set(FORMATS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_shows_the_aggregates_numbers(fmt: str, aggregate: report.Report) -> None:
    expected = from_aggregate(aggregate)
    shown = PARSERS[fmt](render(aggregate, fmt))
    # table and markdown show a source's total row only when it has several scope rows
    for key, figures in shown.items():
        assert figures == {f: expected[key][f] for f in figures}, (fmt, key)
    assert {k for k in expected if k[1] != TOTAL} <= set(shown)
    assert shown[("alpha", TOTAL)]["runs"] == "8"
