"""The report as pure functions: streaming aggregation, re-aggregated metrics, and every renderer parsed back."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest

import runtrack
from runtrack import report
from runtrack.report import CSV_COLUMNS, Collector, ReportSettings, SourceResult, Stats, build, render

from .conftest import NOW, expected_runs

SETTINGS = ReportSettings(now=NOW, stuck_after=timedelta(hours=6), top_errors=3)


def collect(source: str, box: str, settings: ReportSettings = SETTINGS, **kw: object) -> SourceResult:
    result = SourceResult(source=source, adapter="clitest", scope={"box": box}, read_at=NOW, finished_at=NOW, **kw)
    runs = expected_runs(box)
    collector = Collector(result, settings)
    collector.add(runs[:2])  # page by page, like a listing
    collector.add(runs[2:])
    return result


def test_box_a_numbers() -> None:
    stats = collect("alpha", "a").groups["box=a"]
    S = runtrack.RunStatus
    assert stats.runs == 5
    assert (stats.status[S.SUCCEEDED], stats.status[S.FAILED], stats.status[S.RUNNING], stats.status[S.QUEUED]) == (
        2,
        1,
        1,
        1,
    )
    assert stats.success_rate == pytest.approx(2 / 3)
    assert stats.durations.count == 3 and stats.durations.is_exact
    assert (stats.percentile(50), stats.percentile(95), stats.duration_max) == (20.0, 30.0, 30.0)
    assert stats.stuck == 1  # a-2 runs for 36 h; a-3 is queued for 1 h only
    assert stats.accuracy == pytest.approx(14 / 20)  # re-aggregated from counts, not the mean of 0.9 and 0.5
    assert stats.tokens == {"input_tokens": 100, "output_tokens": 50, "total_tokens": 150}
    assert stats.cost == {"USD": Decimal("0.15")}
    assert (stats.pending, stats.reviewed) == (2, 1)
    assert stats.top_errors(5) == [("model timeout", 1)]


def test_stuck_threshold_and_since_cut_off() -> None:
    long = ReportSettings(now=NOW, stuck_after=timedelta(days=2))
    assert collect("alpha", "a", long).groups["box=a"].stuck == 0
    since = ReportSettings(now=NOW, since=NOW - timedelta(days=5))
    result = collect("alpha", "a", since)
    stats = result.groups["box=a"]
    assert result.read == 5 and stats.runs == 4  # a-4 (20 April) is before the cut-off
    assert stats.cost == {"USD": Decimal("0.10")} and stats.pending == 1


def test_currencies_are_kept_apart_and_errors_use_their_first_line() -> None:
    stats = collect("alpha", "b").groups["box=b"]
    assert stats.cost == {"EUR": Decimal("1.00")}
    assert stats.status[runtrack.RunStatus.UNKNOWN] == 1
    assert dict(stats.top_errors(5)) == {"model timeout": 1, "quota exceeded": 1}
    assert stats.success_rate == pytest.approx(1 / 2)  # the UNKNOWN run is neither success nor failure


def test_metric_sums_mix_int_float_and_decimal() -> None:
    stats = Stats()
    base = {"platform": "p", "instance": "i", "kind": "k"}
    metrics = [{"total_tokens": 3, "total_cost": 0.1}, {"total_tokens": 2.5, "total_cost": Decimal("0.2")}]
    for i, m in enumerate(metrics):
        stats.add(runtrack.Run(native_id=str(i), metrics=m, **base), NOW)
    stats.add(runtrack.Run(native_id="x", metrics={"predictions": Decimal(4), "correct": 1.0}, **base), NOW)
    assert stats.tokens == {"total_tokens": 5.5}
    assert stats.cost == {"USD": Decimal("0.3")}  # float money goes through str(): no binary noise
    assert stats.accuracy == 0.25


def test_group_by_run_scope_key() -> None:
    settings = ReportSettings(now=NOW, group_by=("currency",))
    result = collect("alpha", "b", settings)
    assert {label: s.runs for label, s in result.groups.items()} == {"currency=EUR": 1, "currency=-": 2}


def test_build_merges_listings_per_source_and_marks_failures() -> None:
    a, b = collect("alpha", "a"), collect("alpha", "b")
    failed = SourceResult(source="beta", adapter="clitest", scope={"box": "c"}, read_at=NOW, finished_at=NOW)
    failed.error, failed.cursor = "[clitest] HTTP 503; resume with cursor=rt1.xyz", "rt1.xyz"
    Collector(failed, SETTINGS).add(expected_runs("c")[:2])
    rep = build([a, b, failed], SETTINGS)
    alpha, beta = rep.sources
    assert not rep.ok
    assert (alpha.state, beta.state) == ("ok", "failed")
    assert alpha.totals.runs == 8 and alpha.totals.cost == {"USD": Decimal("0.15"), "EUR": Decimal("1.00")}
    assert alpha.totals.top_errors[0] == report.ErrorCount(message="model timeout", count=2)
    assert [r.label for r in alpha.rows] == ["box=a", "box=b"]
    assert beta.rows[0].cursor == "rt1.xyz" and beta.totals.runs == 2


@pytest.fixture
def sample() -> report.Report:
    failed = SourceResult(source="beta", adapter="clitest", scope={"box": "c"}, read_at=NOW, finished_at=NOW)
    failed.error = "boom | pipe"
    return build([collect("alpha", "a"), collect("alpha", "b"), failed], SETTINGS)


def test_json_rendering(sample: report.Report) -> None:
    doc = json.loads(render(sample, "json"))
    assert doc["ok"] is False and doc["generated_at"] == "2024-05-02T12:00:00Z"
    alpha, beta = doc["sources"]
    assert alpha["totals"]["cost"] == {"EUR": "1.00", "USD": "0.15"}
    a = alpha["scopes"][0]
    assert a["scope"] == "box=a" and a["status"]["RUNNING"] == 1 and a["duration_seconds"]["p95"] == 30.0
    assert a["tokens"] == {"input": 100, "output": 50, "total": 150} and a["review"] == {
        "pending": 2,
        "reviewed": 1,
    }
    assert beta["state"] == "failed" and beta["errors"] == ["boom | pipe"] and beta["scopes"][0]["runs"] == 0


def test_csv_rendering(sample: report.Report) -> None:
    rows = list(csv.DictReader(io.StringIO(render(sample, "csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    by = {(r["level"], r["source"], r["scope"]): r for r in rows}
    total = by[("source", "alpha", "(total)")]
    assert total["runs"] == "8" and total["cost"] == "1.00;0.15" and total["currency"] == "EUR;USD"
    a = by[("scope", "alpha", "box=a")]
    assert (a["succeeded"], a["failed"], a["stuck"], a["accuracy"], a["duration_p50_s"]) == ("2", "1", "1", "0.7", "20")
    assert by[("source", "beta", "(total)")]["state"] == "failed"
    assert by[("scope", "beta", "box=c")]["error"] == "boom | pipe"


def _markdown_tables(text: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [re.sub(r"\\(.)", r"\1", c.strip()) for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
            if current is None:
                current = []
                tables.append(current)
            current.append(cells)
        else:
            current = None
    return tables


def test_markdown_rendering(sample: report.Report) -> None:
    text = render(sample, "markdown")
    assert text.startswith("# runtrack report")
    tables = _markdown_tables(text)
    assert len(tables) == 4  # sources, status, details, top errors
    for table in tables:
        assert all(set(c) <= set("-:") for c in table[1])  # the header separator
        assert {len(r) for r in table} == {len(table[0])}
    sources = {r[0]: r for r in tables[0][2:]}
    assert sources["beta"][2] == "failed" and sources["beta"][-1] == "boom | pipe"
    status = {(r[0], r[1]): dict(zip(tables[1][0], r, strict=True)) for r in tables[1][2:]}
    assert status[("alpha", "box=a")]["Succeeded"] == "2" and status[("alpha", "box=a")]["Success"] == "66.7%"
    assert status[("alpha", "(total)")]["Runs"] == "8"


def test_table_rendering(sample: report.Report) -> None:
    text = render(sample, "table")
    assert "FAILED: beta" in text.splitlines()[0]
    status_header = next(line for line in text.splitlines() if line.startswith("SOURCE") and "SUCCESS" in line)
    row = next(line for line in text.splitlines() if line.startswith("alpha") and "box=a" in line)
    cells = dict(zip(status_header.split(), row.split(), strict=True))
    assert cells["RUNS"] == "5" and cells["STUCK"] == "1"
    assert "0.15 USD" in text and "1.00 EUR" in text


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="valid: table, markdown, json, csv"):
        render(build([], SETTINGS), "yaml")


def test_unknown_counts_stay_unknown_and_tokens_add_up() -> None:
    base = {"platform": "p", "instance": "i", "kind": "k"}
    stats = Stats()
    stats.add(
        runtrack.Run(native_id="1", metrics={"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}, **base), NOW
    )
    stats.add(runtrack.Run(native_id="2", metrics={"prompt_tokens": 1, "input_tokens": 99}, **base), NOW)
    assert stats.tokens == {"input_tokens": 106, "output_tokens": 3, "total_tokens": 10}  # vendor names are not read
    doc = report.summary_dict(report.summarize(stats, 3))
    assert doc["predictions"] is None and doc["correct"] is None and doc["accuracy"] is None  # absent, never 0
    assert doc["cost"] == {} and doc["duration_seconds"]["p50"] is None


def test_display_rounds_cost_but_json_and_csv_stay_exact() -> None:
    result = SourceResult(source="s", adapter="clitest", scope={}, read_at=NOW, finished_at=NOW)
    cost = {"total_cost": Decimal("0.407538235")}
    run = runtrack.Run(platform="p", instance="i", kind="k", native_id="1", metrics=cost, error="bad `tick` | <b>")
    Collector(result, SETTINGS).add([run])
    rep = build([result], SETTINGS)
    assert "0.4075 USD" in render(rep, "table")
    assert json.loads(render(rep, "json"))["sources"][0]["totals"]["cost"] == {"USD": "0.407538235"}
    assert next(csv.DictReader(io.StringIO(render(rep, "csv"))))["cost"] == "0.407538235"
    md = render(rep, "markdown")
    assert r"bad \`tick\` \| \<b>" in md
    assert _markdown_tables(md)[3][2] == ["s", "1", "bad `tick` | <b>"]


def test_a_traceback_is_named_by_its_exception_line() -> None:
    base = {"platform": "p", "instance": "i", "kind": "k", "status": runtrack.RunStatus.FAILED}
    trace = 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nValueError: bad input\n'
    stats = Stats()
    for i, error in enumerate([trace, trace, "Timeout\nretrying later", "  \n"]):
        stats.add(runtrack.Run(native_id=str(i), error=error, **base), NOW)
    assert stats.top_errors(5) == [("ValueError: bad input", 2), ("(empty error)", 1), ("Timeout", 1)]
