"""The HTML report as text: hostile run data stays inert, the page references nothing outside itself, and its
charts carry the aggregate's numbers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from runtrack import Run, RunStatus
from runtrack.report import Collector, Report, ReportSettings, SourceResult, build, render

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)
HOSTILE = '<script>alert("x")</script>'
SETTINGS = ReportSettings(now=NOW)


def runs(n: int = 40, *, hostile: bool = False) -> list[Run]:
    out = []
    statuses = [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.RUNNING, RunStatus.QUEUED]
    for i in range(n):
        created = NOW - timedelta(days=i % 9, hours=i)
        status = statuses[i % 4]
        out.append(
            Run(
                platform="p",
                instance="p.example",
                kind="run",
                native_id=f"r{i}",
                name=HOSTILE if hostile and i % 2 else f"run {i}",
                status=status,
                created_at=created,
                started_at=created,
                ended_at=created + timedelta(seconds=5 * (i + 1)) if status.is_terminal else None,
                error=f'"><img src=x onerror=alert(1)> {i % 3}' if status is RunStatus.FAILED else None,
                url="javascript:alert(1)" if hostile and i % 4 == 2 else f"https://p.example/runs/r{i}",
                metrics={"input_tokens": 10 * i, "output_tokens": i, "total_cost": Decimal("0.01")},
            )
        )
    return out


def report_of(items: list[Run], source: str = "src") -> Report:
    result = SourceResult(source=source, adapter="p", scope={"queue": "q<1>"}, read_at=NOW, finished_at=NOW)
    Collector(result, SETTINGS).add(items)
    return build([result], SETTINGS)


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(page)
    return parser.tags


def test_a_script_in_a_run_name_is_inert_text() -> None:
    page = render(report_of(runs(hostile=True)), "html")
    tags = elements(page)
    assert not [t for t, _ in tags if t in ("script", "img", "iframe", "object", "embed")]
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]  # no event handler attribute
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page  # shown, as text
    assert "q&lt;1&gt;" in page
    hrefs = [attrs["href"] for t, attrs in tags if t == "a"]
    assert hrefs and all(h and h.startswith("https://p.example/") for h in hrefs)  # javascript: URLs lose the link


def test_the_page_needs_nothing_from_outside() -> None:
    page = render(report_of(runs()), "html")
    tags = elements(page)
    assert not [t for t, _ in tags if t in ("link", "script", "img", "iframe")]
    assert not [attrs for _, attrs in tags if "src" in attrs]
    assert "@import" not in page and "url(" not in page and "@font-face" not in page
    csp = next(attrs["content"] for t, attrs in tags if t == "meta" and attrs.get("http-equiv"))
    assert csp and "default-src 'none'" in csp
    assert "prefers-color-scheme:dark" in page and "@media print" in page


def test_charts_carry_the_aggregates_numbers() -> None:
    rep = report_of(runs())
    page = render(rep, "html")
    src = rep.sources[0]
    marks = [a for t, a in elements(page) if t == "rect" and a.get("data-series") and a.get("data-label")]
    timeline = [a for a in marks if a["data-series"] in {s.value for s in RunStatus}]
    assert sum(int(a["data-value"] or 0) for a in timeline) == src.totals.runs == 40
    for bucket in src.timeline:
        label = bucket.start.strftime("%Y-%m-%d")
        drawn = {a["data-series"]: int(a["data-value"] or 0) for a in timeline if a["data-label"] == label}
        assert drawn == {k.value: n for k, n in bucket.status.items() if n}
    hist = [int(v) for t, a in elements(page) if t == "rect" and (v := a.get("data-bin") and a.get("data-value"))]
    assert sum(hist) == src.totals.durations.count == 20  # one scope row: no separate total row
    cards = dict(re.findall(r'data-card="([^"]+)"><small>[^<]*</small><b data-value="([^"]*)"', page))
    assert cards["runs"] == "40" and cards["stuck"] == str(src.totals.stuck)


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_and_empty_reports_render(n: int) -> None:
    page = render(report_of(runs(n)), "html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
