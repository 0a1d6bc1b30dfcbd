"""Store schema 2: the typed columns the report aggregates (``runtrack.store.facts``), written at sync time, filled
in place when a version 1 file is opened, and read by the report through its covering indexes."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

import runtrack
from runtrack.report import ReportSettings, build, report_dict
from runtrack.report.from_store import _Runs
from runtrack.sources import read_store
from runtrack.store import SCHEMA_VERSION, facts
from runtrack.store.schema import _V1

from .memory import T0, MemoryAdapter, make_run

COLUMNS = ", ".join(facts.COLUMNS)


def _runs() -> list[runtrack.Run]:
    variants: list[dict[str, Any]] = [
        {"metrics": {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12, "total_cost": Decimal("0.10")}},
        {"metrics": {"input_tokens": 2.5}},  # a float count: odd, folded from JSON
        {"metrics": {"total_cost": Decimal("0.1234567890123")}},  # 13 decimals: odd
        {"metrics": {"total_cost": 0.25}, "scope": {"box": "a", "currency": "EUR"}},  # a float cost is exact as text
        {"metrics": {"predictions": 10, "correct": 7}},
        {"metrics": {"predictions": 10}},  # without correct: no accuracy columns, not odd
        {"metrics": {}, "started_at": None},
        {"metrics": {"input_tokens": 2**64}},  # past SQLite's integers: odd
        {"created_at": None, "metrics": {"total_cost": 3}},
    ]
    return [make_run(i, **v) for i, v in enumerate(variants)]


def test_report_values_are_exact_or_absent_and_odd_otherwise() -> None:
    rows = {
        r.native_id: facts.report_values(r.created_at or r.started_at, r.started_at, r.ended_at, r.metrics, r.scope)
        for r in _runs()
    }
    named = {k: dict(zip(facts.COLUMNS, v, strict=True)) for k, v in rows.items()}
    first = named["r0"]
    assert first["hour"] == (T0 - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(hours=1)
    assert first["duration_us"] == 29_000_005
    assert (first["input_tokens"], first["output_tokens"], first["total_tokens"]) == (5, 7, 12)
    assert (first["cost_units"], first["cost_places"], first["currency"], first["metrics_odd"]) == (
        100_000_000_000,
        2,
        "USD",
        0,
    )
    assert named["r1"]["metrics_odd"] == 1 and named["r1"]["input_tokens"] is None
    assert named["r2"]["metrics_odd"] == 1 and named["r2"]["cost_units"] is None
    assert (named["r3"]["cost_units"], named["r3"]["cost_places"], named["r3"]["currency"]) == (250 * 10**9, 2, "EUR")
    assert (named["r4"]["predictions"], named["r4"]["correct"], named["r4"]["metrics_odd"]) == (10, 7, 0)
    assert (named["r5"]["predictions"], named["r5"]["metrics_odd"]) == (None, 0)
    assert named["r6"]["duration_us"] is None
    assert named["r7"]["metrics_odd"] == 1
    assert named["r8"]["hour"] == first["hour"] and named["r8"]["cost_places"] == 0  # the hour of started_at


def _as_version_1(src: Path, dst: Path) -> None:
    """A store file as runtrack wrote it before schema 2: the version 1 tables holding ``src``'s rows."""
    conn = sqlite3.connect(dst)
    conn.executescript(_V1)
    conn.execute(f"ATTACH DATABASE '{src}' AS new")
    for table in ("runs", "run_docs", "status_history", "listings", "listing_members", "syncs"):
        columns = [row[1] for row in conn.execute(f"PRAGMA main.table_info({table})")]
        names = ", ".join(columns)
        conn.execute(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM new.{table}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.execute("DETACH DATABASE new")
    conn.close()


def test_a_version_1_store_is_upgraded_in_place_with_the_columns_filled(tmp_path: Path) -> None:
    runs = _runs() + [make_run(100 + i, status=runtrack.RunStatus.FAILED, error=f"boom {i % 2}") for i in range(5)]
    fresh = tmp_path / "fresh.db"
    with runtrack.open_store(fresh) as store:
        store.sync(MemoryAdapter(runs), source="mem", box="a")
    old = tmp_path / "old.db"
    _as_version_1(fresh, old)
    assert "hour" not in {row[1] for row in sqlite3.connect(old).execute("PRAGMA table_info(runs)")}
    settings = ReportSettings(now=T0 + timedelta(days=1))
    with runtrack.open_store(old) as store:
        upgraded = report_dict(build(read_store(store, None, settings), settings))
        assert [r.uid for r in store.runs()] == [r.uid for r in runs]
    with runtrack.open_store(fresh) as store:
        written = report_dict(build(read_store(store, None, settings), settings))
    conn = sqlite3.connect(old)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"runs_report", "runs_error", "runs_open", "status_history_at", "runs_first_seen"} <= indexes
    fresh_rows = sqlite3.connect(fresh).execute(f"SELECT uid, {COLUMNS} FROM runs ORDER BY id").fetchall()
    assert conn.execute(f"SELECT uid, {COLUMNS} FROM runs ORDER BY id").fetchall() == fresh_rows
    assert upgraded["sources"] == written["sources"]
    assert written["sources"][0]["totals"]["cost"]


def test_a_changed_run_rewrites_its_columns(tmp_path: Path) -> None:
    run = make_run(1, metrics={"input_tokens": 5})
    adapter = MemoryAdapter([run])
    with runtrack.open_store(tmp_path / "s.db") as store:
        store.sync(adapter, source="mem", box="a")
        adapter.data = [attrs.evolve(run, metrics={"input_tokens": 2.5}, ended_at=None)]
        store.sync(adapter, source="mem", box="a")
        conn = store.connect()
        row = conn.execute("SELECT input_tokens, duration_us, metrics_odd FROM runs").fetchone()
    assert row == (None, None, 1)


def test_many_small_costs_sum_exactly(tmp_path: Path) -> None:
    """A float sum of 0.1 ten thousand times is 1000.0000000001588; the report's is exactly 1000.0."""
    runs = [make_run(i, metrics={"total_cost": Decimal("0.1")}) for i in range(10_000)]
    with runtrack.open_store(tmp_path / "s.db") as store:
        store.sync(MemoryAdapter(runs), source="mem", box="a", page_size=5000)
        settings = ReportSettings(now=T0)
        (result,) = read_store(store, None, settings)
    assert sum(0.1 for _ in runs) != 1000
    cost = result.groups["box=a"].cost
    assert cost == {"USD": Decimal("1000.0")} and str(cost["USD"]) == "1000.0"


@pytest.mark.parametrize("settings", [ReportSettings(), ReportSettings(since=T0)], ids=["plain", "since"])
def test_the_report_passes_read_the_covering_index_not_the_runs(tmp_path: Path, settings: ReportSettings) -> None:
    """EXPLAIN QUERY PLAN of the report's main passes: the members' key, then ``runs_report`` as a covering index
    (no run row, no JSON) -- the reason the typed columns exist."""
    with runtrack.open_store(tmp_path / "s.db") as store:
        store.sync(MemoryAdapter(_runs()), source="mem", box="a")
        conn = store.connect()
        q = _Runs(conn, [info.key for info in store.listings()], settings)
        passes = [
            ("r.status, r.hour, count(*)", "GROUP BY li, label, r.hour, r.status"),
            ("r.duration_us", ""),
            (f"sum(r.{facts.INT_METRICS[0]}), sum(r.cost_units)", ""),
        ]
        for select, tail in passes:
            sql, params = q.sql(select, tail=tail)
            plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
            assert "SEARCH r USING COVERING INDEX runs_report" in plan or settings.since is not None, plan
            assert "SEARCH r USING" in plan and "runs_report" in plan, plan
        for via, extra in (
            ("error", "r.error IS NOT NULL AND r.error <> ''"),
            ("open", "r.status IN ('RUNNING', 'QUEUED')"),
        ):
            sql, params = q.sql("r.uid", extra=extra, via=via)
            plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
            assert f"runs_{via}" in plan, plan
