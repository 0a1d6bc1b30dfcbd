"""``--skip-invalid`` and ``on_invalid = "skip"``: one unreadable item no longer stops a listing for good."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import responses

from .conftest import BASE, BOXES, CONFIG, Result, mock_box

Cli = Callable[..., Result]

BAD = [*BOXES["b"][:1], {**BOXES["b"][0], "id": "b-bad", "cost": "<string>"}, *BOXES["b"][1:]]


def test_runs_stops_at_the_bad_item_by_default(cli: Cli, mocked: responses.RequestsMock) -> None:
    mock_box(mocked, "b", items=BAD)
    res = cli("runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=b", "--format", "jsonl")
    assert res.code == 1, res
    assert "$[1].cost" in res.err


def test_runs_with_skip_invalid_lists_the_rest_and_reports_the_bad_item(
    cli: Cli, mocked: responses.RequestsMock
) -> None:
    mock_box(mocked, "b", items=BAD)
    res = cli(
        "runs", "clitest", "--option", f"base_url={BASE}", "--scope", "box=b", "--format", "jsonl", "--skip-invalid"
    )
    assert res.code == 0, res
    assert [json.loads(line)["native_id"] for line in res.out.splitlines()] == [r["id"] for r in BOXES["b"]]
    assert "skipped 1 invalid item(s)" in res.err
    assert "at $[1].cost (id b-bad)" in res.err


def test_report_skips_with_the_flag_or_the_config_option(
    cli: Cli, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    for box in ("a", "c"):
        mock_box(mocked, box, BASE if box == "a" else CONFIG_BASE2)
    mock_box(mocked, "b", items=BAD)
    config = tmp_path / "runtrack.toml"
    config.write_text(CONFIG)
    failed = cli("report", "--config", str(config), "--format", "json")
    assert failed.code == 1, failed
    flag = cli("report", "--config", str(config), "--format", "json", "--skip-invalid")
    assert flag.code == 0, flag
    assert "b-bad" in flag.err
    config.write_text(CONFIG.replace('team = "red"', 'team = "red"\non_invalid = "skip"'))
    option = cli("report", "--config", str(config), "--format", "json")
    assert option.code == 0, option
    assert _without_clock(json.loads(option.out)) == _without_clock(json.loads(flag.out))


CONFIG_BASE2 = "https://beta.clitest.test/api"


def test_export_with_skip_invalid_writes_every_other_run(
    cli: Cli, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mock_box(mocked, "a")
    mock_box(mocked, "b", items=BAD)
    mock_box(mocked, "c", CONFIG_BASE2)
    config = tmp_path / "runtrack.toml"
    config.write_text(CONFIG)
    out = tmp_path / "runs.jsonl"
    res = cli("export", "--config", str(config), "-o", str(out), "--skip-invalid")
    assert res.code == 0, res
    ids = [json.loads(line)["native_id"] for line in out.read_text().splitlines()]
    assert "b-bad" not in ids and len(ids) == len(set(ids)) == sum(len(v) for v in BOXES.values())
    assert "b-bad" in res.err


def _without_clock(report: dict[str, Any]) -> dict[str, Any]:
    """The report without the wall-clock times of each source's read (two runs may straddle a second)."""
    clock = {"read_at", "finished_at"}
    return {**report, "sources": [{k: v for k, v in src.items() if k not in clock} for src in report["sources"]]}
