"""`runtrack sync` and `--store` for report, export and runs: summary, exit codes, resume, and no network."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import responses

import runtrack
from runtrack.sources import LISTING_CONCURRENCY
from runtrack.testing import FakeLangSmith

from .conftest import BASE2, Result, everything, mock_all, mock_box, most_requests_at_once

Cli = Callable[..., Result]


def summary(out: str) -> dict[str, list[str]]:
    """SOURCE SCOPE -> the other cells of the summary table."""
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["SOURCE", "SCOPE", "MODE"]
    return {" ".join(line.split()[:2]): line.split()[2:] for line in lines[1:]}


def test_sync_fills_the_store_and_prints_a_summary_per_listing(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mock_all(mocked)
    db = tmp_path / "runs.db"
    res = cli("sync", "--config", str(config_file), "--store", str(db))
    assert res.code == 0, res
    rows = summary(res.out)
    assert rows["alpha box=a"] == ["scan", "5", "5", "0", "0", "0", "complete"]
    assert rows["beta box=c"] == ["scan", "5", "5", "0", "0", "0", "complete"]
    assert str(db) in res.err
    with runtrack.open_store(db) as store:
        assert sorted(store.runs(), key=lambda r: r.uid) == sorted(everything(), key=lambda r: r.uid)
        assert {r.source for r in store.syncs()} == {"alpha", "beta"}
    again = cli("sync", "--config", str(config_file), "--store", str(db))
    assert summary(again.out)["alpha box=b"] == ["scan", "3", "0", "0", "3", "0", "complete"]


def test_sync_store_path_comes_from_the_environment(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock_all(mocked)
    db = tmp_path / "env.db"
    monkeypatch.setenv("RUNTRACK_STORE", str(db))
    assert cli("sync", "--config", str(config_file), "--source", "beta").code == 0
    with runtrack.open_store(db) as store:
        assert store.count() == 5


def test_a_failed_listing_exits_1_keeps_the_others_and_the_rerun_resumes_it(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mock_box(mocked, "a")
    mock_box(mocked, "b", fail_at=2)
    mock_box(mocked, "c", BASE2)
    db = tmp_path / "runs.db"
    res = cli("sync", "--config", str(config_file), "--store", str(db))
    assert res.code == 1, res
    assert summary(res.out)["alpha box=b"] == ["scan", "2", "2", "0", "0", "0", "failed,", "resumable"]
    assert "source 'alpha' box=b failed" in res.err and "cursor=" in res.err
    mocked.reset()
    mock_box(mocked, "a")
    mock_box(mocked, "b")
    mock_box(mocked, "c", BASE2)
    res = cli("sync", "--config", str(config_file), "--store", str(db), "--source", "alpha")
    assert res.code == 0, res
    assert summary(res.out)["alpha box=b"] == ["scan", "1", "1", "0", "0", "0", "complete,", "resumed"]
    b_calls = [c.request.url for c in mocked.calls if "/boxes/b/" in c.request.url]
    assert [u.split("?")[1] for u in b_calls] == ["offset=2&limit=2"]  # only what was missing
    with runtrack.open_store(db) as store:
        assert store.count() == 13


def test_a_run_gone_from_a_complete_listing_is_deleted(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    from .conftest import BOXES

    mock_all(mocked)
    db = tmp_path / "runs.db"
    assert cli("sync", "--config", str(config_file), "--store", str(db)).code == 0
    mocked.reset()
    mock_box(mocked, "a", items=BOXES["a"][1:])
    mock_box(mocked, "b")
    mock_box(mocked, "c", BASE2)
    res = cli("sync", "--config", str(config_file), "--store", str(db))
    assert summary(res.out)["alpha box=a"] == ["scan", "4", "0", "0", "4", "1", "complete"]


def test_report_from_the_store_equals_the_live_report_with_no_network(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mock_all(mocked)
    db = tmp_path / "runs.db"
    live = cli("report", "--config", str(config_file), "--format", "json")
    assert cli("sync", "--config", str(config_file), "--store", str(db)).code == 0
    mocked.reset()  # any request now fails: the store report must not make one
    stored = cli("report", "--config", str(config_file), "--format", "json", "--store", str(db))
    assert stored.code == 0, stored
    assert len(mocked.calls) == 0
    import json

    live_doc, stored_doc = json.loads(live.out), json.loads(stored.out)
    for doc in (live_doc, stored_doc):  # when the runs were read differs by nature
        for src in doc["sources"]:
            src.pop("read_at", None)
            src.pop("finished_at", None)
    assert stored_doc.pop("store") == str(db)  # from the store only: its path and what the last sync changed
    assert [c["source"] for c in stored_doc.pop("changes")] == [s["name"] for s in live_doc["sources"]]
    assert stored_doc == live_doc
    table_live = cli("report", "--config", str(config_file), "--since", "2024-05-01T10:00:00Z")
    assert table_live.code == 1  # no mocks: the live report fails
    since = cli("report", "--config", str(config_file), "--store", str(db), "--since", "2024-05-01T10:00:00Z")
    assert since.code == 0 and "alpha" in since.out


def test_report_store_without_a_config_reports_every_stored_listing(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock_all(mocked)
    db = tmp_path / "runs.db"
    assert cli("sync", "--config", str(config_file), "--store", str(db)).code == 0
    monkeypatch.chdir(tmp_path / "..")
    res = cli("report", "--store", str(db), "--format", "csv", "--source", "beta")
    assert res.code == 0, res
    assert "beta" in res.out and "alpha" not in res.out
    unknown = cli("report", "--store", str(db), "--source", "gamma")
    assert unknown.code == 2 and "gamma" in unknown.err


def test_a_listing_never_synced_is_a_failed_source_in_the_store_report(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mock_all(mocked)
    db = tmp_path / "runs.db"
    assert cli("sync", "--config", str(config_file), "--store", str(db), "--source", "beta").code == 0
    res = cli("report", "--config", str(config_file), "--store", str(db))
    assert res.code == 1
    assert "source 'alpha' failed" in res.err and "runtrack sync" in res.err


def test_report_store_refuses_a_missing_file(cli: Cli, config_file: Path, tmp_path: Path) -> None:
    res = cli("report", "--config", str(config_file), "--store", str(tmp_path / "nope.db"))
    assert res.code == 2 and "nope.db does not exist" in res.err
    assert not (tmp_path / "nope.db").exists()


def test_export_and_runs_from_the_store(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mock_all(mocked)
    db = tmp_path / "runs.db"
    assert cli("sync", "--config", str(config_file), "--store", str(db)).code == 0
    mocked.reset()
    out = tmp_path / "out.jsonl"
    res = cli("export", "--config", str(config_file), "--store", str(db), "-o", str(out))
    assert res.code == 0, res
    with out.open(encoding="utf-8") as fp:
        exported = list(runtrack.read_jsonl(fp))
    assert sorted(exported, key=lambda r: r.uid) == sorted(everything(), key=lambda r: r.uid)
    assert cli("export", "--store", str(db), "-o", str(out)).code == 2  # exists: --overwrite needed
    res = cli("export", "--store", str(db), "-o", str(out), "--overwrite", "--source", "beta")
    assert res.code == 0
    with out.open(encoding="utf-8") as fp:
        assert {r.native_id for r in runtrack.read_jsonl(fp)} == {f"c-{i}" for i in range(5)}

    res = cli("runs", "clitest", "--store", str(db), "--format", "jsonl", "--scope", "box=b")
    assert res.code == 0, res
    assert [line.count('"native_id":"b-') for line in res.out.splitlines()] == [1, 1, 1]
    res = cli("runs", "clitest", "--store", str(db), "--format", "jsonl", "--max-items", "4")
    assert len(res.out.splitlines()) == 4
    res = cli("runs", "clitest", "--store", str(db), "--scope", "box=zzz")
    assert res.code == 2 and "stored scopes" in res.err
    assert len(mocked.calls) == 0


def test_progress_is_shown_on_a_terminal_only(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mock_all(mocked)
    res = cli("sync", "--config", str(config_file), "--store", str(tmp_path / "r.db"))
    assert "runs read" not in res.err  # captured stderr is not a terminal


def test_disk_full_stops_the_sync_with_a_message_naming_the_store_and_the_rerun_completes(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from runtrack.store import rows

    mock_all(mocked)
    db = tmp_path / "runs.db"
    real_row = rows.Encoded.row
    calls = {"n": 0}

    def full_after_some_rows(self: rows.Encoded, source: str) -> tuple[object, ...]:
        calls["n"] += 1
        if calls["n"] > 6:
            raise sqlite3.OperationalError("database or disk is full")
        return real_row(self, source)

    monkeypatch.setattr(rows.Encoded, "row", full_after_some_rows)
    res = cli("sync", "--config", str(config_file), "--store", str(db))
    assert res.code == 1, res
    assert f"runtrack: error: {db}: cannot write to the store (database or disk is full)" in res.err
    assert "resumes" in res.err and "Traceback" not in res.err
    with runtrack.open_store(db) as store:
        assert store.count() == 5  # box a (5 runs); the page of box b that hit the full disk was rolled back
    monkeypatch.setattr(rows.Encoded, "row", real_row)
    res = cli("sync", "--config", str(config_file), "--store", str(db))
    assert res.code == 0, res
    with runtrack.open_store(db) as store:
        assert store.count() == 13


def test_a_store_path_that_cannot_be_a_store_is_a_usage_error(cli: Cli, config_file: Path, tmp_path: Path) -> None:
    res = cli("sync", "--config", str(config_file), "--store", str(tmp_path))  # a directory
    assert res.code == 2 and f"--store: {tmp_path}" in res.err and "Traceback" not in res.err
    text = tmp_path / "notes.txt"
    text.write_text("not a database " * 200)
    res = cli("sync", "--config", str(config_file), "--store", str(text))
    assert res.code == 2 and "not a runtrack store" in res.err


def test_sync_keeps_several_pages_of_a_listing_in_flight(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configured source is read whole: LISTING_CONCURRENCY pages of one queue travel at once (one page after
    another waited a round trip per page), and the store holds every run once."""
    fake = FakeLangSmith(seed=3, queues=1, runs_per_queue=40).start()
    try:
        fake.faults.configure(latency=0.05)
        cfg = tmp_path / "ls.toml"
        cfg.write_text(
            "[[source]]\n"
            'adapter = "langsmith"\n'
            f"base_url = {json.dumps(fake.base_url)}\n"
            'api_key_env = "RT_TEST_LS_KEY"\n'
            "page_size = 5\n"
            f"scope = {{ queue_id = {json.dumps(fake.queue_ids[0])} }}\n"
        )
        monkeypatch.setenv("RT_TEST_LS_KEY", fake.api_key)
        peak = most_requests_at_once(fake)
        res = cli("sync", "--config", str(cfg), "--store", str(tmp_path / "runs.db"))
        assert res.code == 0, res
        with runtrack.open_store(tmp_path / "runs.db") as store:
            stored = sorted(r.native_id for r in store.runs())
        assert stored == sorted(str(row["id"]) for row in fake.queue_runs(fake.queue_ids[0]))
        assert peak[0] == LISTING_CONCURRENCY
    finally:
        fake.stop()
