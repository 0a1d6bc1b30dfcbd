"""`runtrack runs ADAPTER`: every output format parsed back, scope/option flags, errors with a resume cursor."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable

import pytest
import responses

import runtrack
from runtrack.run_formats import RUN_CSV_COLUMNS

from .conftest import BASE, KEY, Result, expected_runs, mock_box

Cli = Callable[..., Result]


def test_json_is_lossless(cli: Cli, mocked: responses.RequestsMock) -> None:
    mock_box(mocked, "a")
    res = cli("runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=a", "--format", "json")
    assert res.code == 0, res
    runs = [runtrack.load_run(d) for d in json.loads(res.out)]
    assert runs == expected_runs("a")
    assert runs[4].raw["unknown_field"] == {"kept": True}


def test_jsonl_round_trips_and_scope_values_expand(cli: Cli, mocked: responses.RequestsMock) -> None:
    mock_box(mocked, "a")
    mock_box(mocked, "b")
    res = cli("runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=a", "--scope", "box=b",
              "--format", "jsonl")  # fmt: skip
    assert res.code == 0, res
    assert list(runtrack.read_jsonl(io.StringIO(res.out))) == expected_runs("a") + expected_runs("b")


def test_csv_columns(cli: Cli, mocked: responses.RequestsMock) -> None:
    mock_box(mocked, "b")
    res = cli("runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=b", "--format", "csv")
    assert res.code == 0, res
    reader = csv.DictReader(io.StringIO(res.out))
    assert tuple(reader.fieldnames or ()) == RUN_CSV_COLUMNS
    rows = list(reader)
    assert [r["native_id"] for r in rows] == ["b-0", "b-1", "b-2"]
    assert [r["status"] for r in rows] == ["SUCCEEDED", "FAILED", "UNKNOWN"]
    assert rows[2]["status_raw"] == "mystery" and rows[2]["error"].startswith("quota exceeded\n")
    assert json.loads(rows[0]["metrics"])["total_cost"] == "1.00" and rows[0]["duration_s"] == "40.0"
    assert json.loads(rows[0]["scope"]) == {"box": "b", "currency": "EUR"}


def test_table_and_env_fallback(cli: Cli, mocked: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLITEST_URL", BASE)  # the adapter's own environment fallback
    mock_box(mocked, "a")
    res = cli("runs", "clitest", "--scope", "box=a", "--max-items", "3")
    assert res.code == 0, res
    lines = res.out.splitlines()
    assert lines[0].split() == ["STATUS", "CREATED", "DURATION", "ID", "NAME", "ERROR"]
    assert [line.split()[0] for line in lines[1:]] == ["SUCCEEDED", "FAILED", "RUNNING"]
    assert "model timeout" in lines[2] and "10.0s" in lines[1]


def test_listing_error_keeps_output_valid_and_prints_cursor(cli: Cli, mocked: responses.RequestsMock) -> None:
    mock_box(mocked, "c", fail_at=4, status=500)
    res = cli("runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=c", "--format", "json")
    assert res.code == 1
    assert [d["native_id"] for d in json.loads(res.out)] == ["c-0", "c-1", "c-2", "c-3"]  # array closed
    assert res.err.count("\n") == 1 and "backend on fire" in res.err  # one line, no traceback
    cursor = re.search(r"cursor=(rt1\.[A-Za-z0-9_-]+)", res.err)
    assert cursor is not None
    mocked.reset()
    mock_box(mocked, "c")
    res = cli("runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=c", "--cursor", cursor[1],
              "--format", "jsonl")  # fmt: skip
    assert res.code == 0, res
    assert [r.native_id for r in runtrack.read_jsonl(io.StringIO(res.out))] == ["c-4"]


def test_inline_api_key_is_refused_without_echo(cli: Cli) -> None:
    res = cli("runs", "clitest", "--option", "api_key=hunter2-secret", "--option", f"base_url={BASE}")
    assert res.code == 2 and "api_key" in res.err and "hunter2" not in res.err


def test_api_key_env_and_unknown_things(
    cli: Cli, mocked: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTHER_KEY", "other-key-value")
    mock_box(mocked, "b")
    res = cli("runs", "clitest", "--api-key-env", "OTHER_KEY", "--option", f"base_url={BASE}", "--scope", "box=b")
    assert res.code == 0, res
    assert {c.request.headers["X-Key"] for c in mocked.calls} == {"other-key-value"}
    assert KEY not in res.out
    res = cli("runs", "clitest", "--api-key-env", "MISSING_KEY", "--option", f"base_url={BASE}")
    assert res.code == 2 and "MISSING_KEY" in res.err
    res = cli("runs", "nosuch")
    assert res.code == 2 and "unknown adapter 'nosuch'" in res.err and "clitest" in res.err
    res = cli("runs", "clitest", "--option", f"base_url={BASE}", "--option", "colour=red")
    assert res.code == 2 and "colour" in res.err
    res = cli("runs", "clitest", "--scope", "novalue")
    assert res.code == 2 and "KEY=VALUE" in res.err


def test_unknown_scope_keyword_is_a_usage_error(cli: Cli) -> None:
    res = cli("runs", "clitest", "--option", f"base_url={BASE}", "--scope", "boxx=a")
    assert res.code == 2
    assert "--scope boxx: unknown scope keyword for adapter 'clitest' (did you mean 'box'?); valid: box" in res.err
