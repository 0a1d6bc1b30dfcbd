"""The store's first slice: open/schema versions, sync by upsert with content hashes, history, the read API."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

import runtrack
from runtrack import RunStatus
from runtrack.store import SCHEMA_VERSION, StoreError, StoreVersionError

from .memory import T0, MemoryAdapter, make_run


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


def test_open_store_creates_the_schema_in_wal_and_is_a_context_manager(db: Path) -> None:
    with runtrack.open_store(db) as store:
        assert store.path == db
        assert store.count() == 0
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "run_docs", "status_history", "listings", "listing_members", "syncs"} <= tables


def test_a_newer_store_file_is_refused_naming_the_file_and_both_versions(db: Path) -> None:
    runtrack.open_store(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreVersionError) as info:
        runtrack.open_store(db)
    text = str(info.value)
    assert str(db) in text and f"version {SCHEMA_VERSION + 1}" in text and f"up to {SCHEMA_VERSION}" in text
    assert isinstance(info.value, runtrack.ConfigurationError)


def test_a_file_that_is_not_sqlite_is_a_store_error_naming_it(db: Path) -> None:
    db.write_text("not a database, just text " * 100)
    with pytest.raises(StoreError, match=str(db)):
        runtrack.open_store(db)


def test_foreign_tables_are_left_alone_and_do_not_count_as_a_schema(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE migrate_meta (version INTEGER)")
    conn.execute("INSERT INTO migrate_meta VALUES (7)")
    conn.commit()
    conn.close()
    with runtrack.open_store(db) as store:
        other = store.connect()
        assert other.execute("SELECT version FROM migrate_meta").fetchone() == (7,)
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("PRAGMA busy_timeout").fetchone()[0] > 0
        other.close()
        assert store.count() == 0


def test_runs_read_back_equal_the_adapter_runs_raw_included(db: Path) -> None:
    runs = [make_run(i) for i in range(7)]
    runs.append(make_run(99, status=RunStatus.RUNNING, ended_at=None, raw=["not", "a", {"dict": 1.25}], tags=()))
    src = MemoryAdapter(runs)
    with runtrack.open_store(db) as store:
        result = store.sync(src)
        assert (result.read, result.inserted, result.changed, result.unchanged) == (8, 8, 0, 0)
        assert result.complete and result.cursor is None and result.mode == "scan"
        assert list(store.runs()) == runs
        for run in runs:
            got = store.get(run.uid)
            assert got == run
            assert got is not None and got.raw == run.raw and got.metrics == run.metrics
        assert store.get("no-such-uid") is None


def test_a_second_sync_with_nothing_changed_writes_nothing(db: Path) -> None:
    src = MemoryAdapter([make_run(i) for i in range(5)])
    with runtrack.open_store(db) as store:
        store.sync(src)
        conn = store.connect()
        before = conn.execute("SELECT uid, last_changed_at FROM runs ORDER BY uid").fetchall()
        result = store.sync(src)
        assert (result.read, result.inserted, result.changed, result.unchanged) == (5, 0, 0, 5)
        assert conn.execute("SELECT uid, last_changed_at FROM runs ORDER BY uid").fetchall() == before
        conn.close()


def test_a_changed_run_is_updated_counted_and_its_status_change_kept_in_history(db: Path) -> None:
    clock = iter([T0 + timedelta(hours=h) for h in range(1, 100)])
    running = make_run(1, status=RunStatus.RUNNING)
    src = MemoryAdapter([running, make_run(2)])
    with runtrack.open_store(db) as store:
        store.sync(src, clock=lambda: next(clock))
        finished = attrs.evolve(running, status=RunStatus.FAILED, status_raw="failed", error="oom")
        renamed = attrs.evolve(make_run(2), name="new name")  # a change without a status change
        src.data = [finished, renamed]
        result = store.sync(src, clock=lambda: next(clock))
        assert (result.inserted, result.changed, result.unchanged) == (0, 2, 0)
        assert store.get(running.uid) == finished
        assert store.get(renamed.uid) == renamed
        assert [(h.status, h.status_raw) for h in store.history(running.uid)] == [
            (RunStatus.RUNNING, "running"),
            (RunStatus.FAILED, "failed"),
        ]
        assert [h.status for h in store.history(renamed.uid)] == [RunStatus.SUCCEEDED]
        first, second = store.history(running.uid)
        assert first.at < second.at
        assert store.count(changed_since=first.at) == 2
        assert store.count(changed_since=second.at) == 0


def test_filters_select_by_platform_source_status_since_and_changed(db: Path) -> None:
    a = MemoryAdapter([make_run(i, box="a") for i in range(4)])
    b = MemoryAdapter([make_run(10 + i, box="b", status=RunStatus.FAILED) for i in range(3)])
    b.data.append(make_run(20, box="b", created_at=None, started_at=None))  # no time: kept by since
    with runtrack.open_store(db) as store:
        store.sync(a, source="alpha", box="a")
        store.sync(b, source="beta", box="b")
        assert store.count() == 8
        assert store.count(platform="memory") == 8
        assert store.count(platform="other") == 0
        assert store.count(source="alpha") == 4
        assert store.count(source=["alpha", "beta"]) == 8
        assert store.count(status=RunStatus.FAILED) == 3
        assert store.count(status=["FAILED", "SUCCEEDED"]) == 8
        assert store.count(source="beta", status="SUCCEEDED") == 1
        since = T0 + timedelta(minutes=11)
        assert {r.native_id for r in store.runs(since=since)} == {"r11", "r12", "r20"}
        assert store.count(since=since) == 3
        assert all(r.scope["box"] == "b" for r in store.runs(source="beta"))


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"platform": "memory"}, "runs_platform_at"),
        ({"source": "alpha"}, "runs_source_at"),
        ({"status": "FAILED"}, "runs_status_at"),
        ({"changed_since": T0}, "runs_changed"),
        ({"since": T0}, "runs_at"),
    ],
)
def test_every_filter_is_a_where_on_an_index(db: Path, filters: dict[str, object], index: str) -> None:
    from runtrack.store.query import where

    with runtrack.open_store(db) as store:
        store.sync(MemoryAdapter([make_run(i) for i in range(3)]))
        clause, params = where(include_deleted=True, **filters)  # type: ignore[arg-type]
        conn = store.connect()
        plan = " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN SELECT uid FROM runs r{clause}", params))
        conn.close()
        assert index in plan, plan


def test_syncs_records_each_pass_newest_first(db: Path) -> None:
    src = MemoryAdapter([make_run(i) for i in range(4)])
    with runtrack.open_store(db) as store:
        store.sync(src, source="one")
        src.data.append(make_run(9))
        store.sync(src, source="two")
        records = store.syncs()
        assert [(r.source, r.read, r.inserted, r.complete, r.error) for r in records] == [
            ("two", 5, 1, True, None),
            ("one", 4, 4, True, None),
        ]
        assert [r.source for r in store.syncs(source="one")] == ["one"]
        assert len(store.syncs(limit=1)) == 1
        assert records[0].finished_at >= records[0].started_at
        [listing] = store.listings(source="one")
        assert listing.scope == {} and listing.adapter == "memory" and not listing.in_progress


def test_secrets_never_reach_the_store_file(db: Path) -> None:
    with runtrack.open_store(db) as store:
        store.sync(MemoryAdapter([make_run(1)]))
    assert b"secret-memory-key" not in db.read_bytes()


def test_history_rows_are_written_only_when_a_status_changes(db: Path) -> None:
    times = [T0 + timedelta(hours=h) for h in range(1, 4)]
    run = make_run(1, status=RunStatus.QUEUED)
    src = MemoryAdapter([run, make_run(2)])
    with runtrack.open_store(db) as store:
        store.sync(src, clock=lambda: times[0])
        conn = store.connect()
        assert conn.execute("SELECT count(*) FROM status_history").fetchone() == (0,)  # a new run: nothing
        assert [(h.at, h.status) for h in store.history(run.uid)] == [(times[0], RunStatus.QUEUED)]
        running = attrs.evolve(run, status=RunStatus.RUNNING, status_raw="running")
        src.data = [running, make_run(2)]
        store.sync(src, clock=lambda: times[1])
        done = attrs.evolve(running, status=RunStatus.SUCCEEDED, status_raw="succeeded")
        src.data = [done, make_run(2)]
        store.sync(src, clock=lambda: times[2])
        assert [(h.at, h.status) for h in store.history(run.uid)] == [
            (times[0], RunStatus.QUEUED),  # written with the first change, at the time the run was first seen
            (times[1], RunStatus.RUNNING),
            (times[2], RunStatus.SUCCEEDED),
        ]
        assert conn.execute("SELECT count(*) FROM status_history").fetchone() == (3,)
        assert [h.status for h in store.history(make_run(2).uid)] == [RunStatus.SUCCEEDED]
        assert store.history("no-such-uid") == []
        conn.close()
