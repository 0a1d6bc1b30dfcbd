"""`runtrack report` end to end: config file -> test adapter over mocked HTTP -> each format, parsed back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import responses

from runtrack.convert import parse_datetime
from runtrack.report import CSV_COLUMNS

from .conftest import BASE, BASE2, KEY, Result, mock_box
from .test_report import _markdown_tables

Cli = Callable[..., Result]


@pytest.fixture
def all_good(mocked: responses.RequestsMock) -> responses.RequestsMock:
    mock_box(mocked, "a")
    mock_box(mocked, "b")
    mock_box(mocked, "c", BASE2)
    return mocked


def test_json_report(cli: Cli, config_file: Path, all_good: responses.RequestsMock) -> None:
    res = cli("report", "--config", str(config_file), "--format", "json")
    assert res.code == 0, res
    doc = json.loads(res.out)
    assert doc["ok"] is True and doc["stuck_after_seconds"] == 6 * 3600
    alpha, beta = doc["sources"]
    assert (alpha["name"], alpha["state"], alpha["read"]) == ("alpha", "ok", 8)
    assert parse_datetime(alpha["read_at"]) is not None and alpha["finished_at"] >= alpha["read_at"]
    a, b = alpha["scopes"]
    assert (a["scope"], a["runs"], a["stuck"], a["accuracy"]) == ("box=a", 5, 1, 0.7)
    assert a["cost"] == {"USD": "0.15"} and b["cost"] == {"EUR": "1.00"}
    assert alpha["totals"]["top_errors"][0] == {"message": "model timeout", "count": 2}
    assert beta["totals"]["status"]["SUCCEEDED"] == 5
    # the key went in the header, and never to the output
    assert all(call.request.headers["X-Key"] == KEY for call in all_good.calls)
    assert KEY not in res.out + res.err


def test_csv_report_has_documented_columns(cli: Cli, config_file: Path, all_good: responses.RequestsMock) -> None:
    res = cli("report", "--config", str(config_file), "--format", "csv", "--since", "2024-04-25")
    assert res.code == 0, res
    reader = csv.DictReader(io.StringIO(res.out))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    rows = {(r["level"], r["source"], r["scope"]): r for r in reader}
    assert set(rows) == {
        ("source", "alpha", "(total)"),
        ("scope", "alpha", "box=a"),
        ("scope", "alpha", "box=b"),
        ("source", "beta", "(total)"),
        ("scope", "beta", "box=c"),
    }
    assert rows[("scope", "alpha", "box=a")]["runs"] == "4"  # a-4 is older than --since
    assert rows[("source", "alpha", "(total)")]["review_pending"] == "1"


def test_markdown_report(cli: Cli, config_file: Path, all_good: responses.RequestsMock) -> None:
    res = cli("report", "--config", str(config_file), "--format", "markdown")
    assert res.code == 0, res
    tables = _markdown_tables(res.out)
    assert [t[0][0] for t in tables] == ["Source", "Source", "Source", "Source"]
    assert {r[0] for r in tables[0][2:]} == {"alpha", "beta"}
    assert "## Runs by status" in res.out


def test_table_report_to_file(cli: Cli, config_file: Path, all_good: responses.RequestsMock, tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    res = cli("report", "--config", str(config_file), "-o", str(out), "--stuck-after", "2d")
    assert res.code == 0 and res.out == ""
    text = out.read_text()
    header = next(line for line in text.splitlines() if "SUCCESS" in line)
    row = next(line for line in text.splitlines() if line.startswith("alpha") and "box=a" in line)
    assert dict(zip(header.split(), row.split(), strict=True))["STUCK"] == "0"  # 36 h < 2 d


def test_one_failing_source_still_reports_and_exits_1(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock
) -> None:
    mock_box(mocked, "a")
    mock_box(mocked, "b")
    mock_box(mocked, "c", BASE2, fail_at=2)  # 503 on every retry of the second page
    res = cli("report", "--config", str(config_file), "--format", "json")
    assert res.code == 1, res
    doc = json.loads(res.out)
    alpha, beta = doc["sources"]
    assert alpha["state"] == "ok" and alpha["totals"]["runs"] == 8
    assert beta["state"] == "failed" and beta["totals"]["runs"] == 2  # the first page was counted
    scope = beta["scopes"][0]
    assert "backend on fire" in scope["error"] and scope["cursor"].startswith("rt1.")
    assert "source 'beta' failed" in res.err and "resume with cursor=rt1." in res.err
    retried = [c for c in mocked.calls if "offset=2" in c.request.url and BASE2 in c.request.url]
    assert len(retried) == 5  # 1 + max_retries


def test_missing_secret_variable_fails_that_source_only(
    cli: Cli, config_file: Path, all_good: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file.write_text(config_file.read_text().replace('api_key_env = "CLITEST_KEY"', 'api_key_env = "NOPE_KEY"'))
    res = cli("report", "--config", str(config_file), "--format", "json")
    assert res.code == 1
    alpha, beta = json.loads(res.out)["sources"]
    assert alpha["state"] == "failed" and "NOPE_KEY" in alpha["errors"][0]
    assert beta["state"] == "ok"


def test_source_selection_and_config_discovery(
    cli: Cli, config_file: Path, all_good: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # ./runtrack.toml is config_file
    res = cli("report", "--source", "beta", "--format", "json")
    assert res.code == 0, res
    assert [s["name"] for s in json.loads(res.out)["sources"]] == ["beta"]
    res = cli("report", "--source", "gamma")
    assert res.code == 2 and "no source named 'gamma'" in res.err


def test_fan_out_scope_and_group_by(cli: Cli, tmp_path: Path, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{BASE}/boxes", json={"boxes": ["a", "b"]})
    mock_box(mocked, "a")
    mock_box(mocked, "b")
    path = tmp_path / "fan.toml"
    path.write_text(f'[[source]]\nadapter = "clitest"\nbase_url = "{BASE}"\n')
    res = cli("report", "--config", str(path), "--format", "json", "--group-by", "box")
    assert res.code == 0, res
    (src,) = json.loads(res.out)["sources"]
    assert src["name"] == "clitest"
    assert {s["scope"]: s["runs"] for s in src["scopes"]} == {"box=a": 5, "box=b": 3}


def test_bad_since_is_a_usage_error(cli: Cli, config_file: Path) -> None:
    res = cli("report", "--config", str(config_file), "--since", "yesterday-ish")
    assert res.code == 2 and "--since" in res.err and "Traceback" not in res.err


def test_html_report_with_a_failed_source(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mock_box(mocked, "a")
    mock_box(mocked, "b")
    mock_box(mocked, "c", BASE2, fail_at=2)
    out = tmp_path / "report.html"
    res = cli("report", "--config", str(config_file), "--format", "html", "-o", str(out))
    assert res.code == 1 and res.out == ""
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'data-chart="status-timeline"' in page
    assert '<tr class="failed" data-source="beta">' in page and "backend on fire" in page
    assert 'data-card="failed-sources"><small>Failed sources</small><b data-value="1">' in page
