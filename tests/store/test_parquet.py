"""The Parquet dataset: partitioned by platform, typed, UTC timestamps, raw as JSON text; DuckDB reads it."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest

import runtrack
from runtrack.parquet import ParquetUnavailableError, write_parquet

from .memory import MemoryAdapter, make_run

pa = pytest.importorskip("pyarrow")
duckdb = pytest.importorskip("duckdb")


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def micros(value: datetime | None) -> int | None:
    return None if value is None else (value - EPOCH) // timedelta(microseconds=1)


def runs() -> list[runtrack.Run]:
    mem = [make_run(i) for i in range(7)]
    other = [attrs.evolve(make_run(100 + i), platform="other", uid=f"u-{i}") for i in range(3)]
    odd = make_run(50, created_by=runtrack.Actor(id="7", email="a@b.c"), ended_at=None, raw=None, tags=())
    return [*mem, *other, odd]


def test_duckdb_reads_the_dataset_with_the_counts_and_values_of_the_runs(tmp_path: Path) -> None:
    data = runs()
    out = tmp_path / "runs.parquet"
    assert write_parquet(iter(data), out) == {"memory": 8, "other": 3}
    assert sorted(p.name for p in out.iterdir()) == ["platform=memory", "platform=other"]
    con = duckdb.connect()
    rel = f"read_parquet('{out}/**/*.parquet', hive_partitioning = true)"
    counts = dict(con.execute(f"SELECT platform, count(*) FROM {rel} GROUP BY platform ORDER BY platform").fetchall())
    assert counts == {"memory": 8, "other": 3}
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {rel})").fetchall())
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["duration_s"] == "DOUBLE" and types["schema_version"] == "INTEGER"
    assert types["tags"] == "VARCHAR[]" and types["raw"] == "VARCHAR"
    by_uid = {r.uid: r for r in data}
    # instants as microseconds since the epoch (DuckDB would need pytz to hand out aware datetimes)
    rows = con.execute(
        "SELECT uid, epoch_us(created_at), epoch_us(ended_at), duration_s, raw, metrics, tags, created_by_email "
        f"FROM {rel}"
    )
    for uid, created, ended, duration, raw, metrics, tags, email in rows.fetchall():
        run = by_uid[uid]
        assert created == micros(run.created_at)
        assert ended == micros(run.ended_at)
        assert duration == (run.duration.total_seconds() if run.duration else None)
        assert json.loads(raw) == run.raw
        assert json.loads(metrics) == runtrack.dump_run(run)["metrics"]
        assert tuple(tags) == run.tags
        assert email == (run.created_by.email if run.created_by else None)


def test_an_existing_target_is_replaced_only_with_overwrite_and_only_when_it_is_a_dataset(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    write_parquet(runs(), out)
    with pytest.raises(runtrack.ConfigurationError, match="--overwrite"):
        write_parquet(runs(), out)
    assert write_parquet(runs()[:2], out, overwrite=True) == {"memory": 2}
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(runtrack.ConfigurationError, match="not a runtrack Parquet dataset"):
        write_parquet(runs(), precious, overwrite=True)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_a_failure_while_writing_leaves_no_dataset_behind(tmp_path: Path) -> None:
    def broken() -> object:
        yield make_run(1)
        raise runtrack.ServerError("boom")

    with pytest.raises(runtrack.ServerError):
        write_parquet(broken(), tmp_path / "ds")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_without_pyarrow_the_error_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ParquetUnavailableError, match=r"runtrack\[parquet\]"):
        write_parquet(runs(), tmp_path / "ds")


def test_store_runs_to_parquet_keep_the_store_counts(tmp_path: Path) -> None:
    with runtrack.open_store(tmp_path / "runs.db") as store:
        store.sync(MemoryAdapter([make_run(i) for i in range(9)]))
        counts = write_parquet(store.runs(), tmp_path / "ds")
        assert counts == {"memory": store.count()}
    total = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{tmp_path}/ds/**/*.parquet')").fetchone()
    assert total == (9,)
