"""`runtrack export --format parquet`, from the platforms and from the store; a missing pyarrow names the extra."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import responses

from .conftest import BASE2, Result, mock_box

Cli = Callable[..., Result]
duckdb = pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")


def counts(directory: Path) -> dict[str, int]:
    rel = f"read_parquet('{directory}/**/*.parquet', hive_partitioning = true)"
    return dict(duckdb.connect().execute(f"SELECT platform, count(*) FROM {rel} GROUP BY platform").fetchall())


def test_parquet_live_and_from_the_store_hold_the_same_runs(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    for box in ("a", "b"):
        mock_box(mocked, box)
    mock_box(mocked, "c", BASE2)
    live = tmp_path / "live"
    res = cli("export", "--config", str(config_file), "--format", "parquet", "-o", str(live))
    assert res.code == 0, res
    assert counts(live) == {"clitest": 13}
    db = tmp_path / "runs.db"
    assert cli("sync", "--config", str(config_file), "--store", str(db)).code == 0
    mocked.reset()
    stored = tmp_path / "stored"
    res = cli("export", "--store", str(db), "--format", "parquet", "-o", str(stored))
    assert res.code == 0, res
    assert counts(stored) == {"clitest": 13} and len(mocked.calls) == 0
    query = "SELECT uid, raw FROM read_parquet('{}/**/*.parquet') ORDER BY uid"
    con = duckdb.connect()
    assert con.execute(query.format(live)).fetchall() == con.execute(query.format(stored)).fetchall()
    again = cli("export", "--store", str(db), "--format", "parquet", "-o", str(stored))
    assert again.code == 2 and "--overwrite" in again.err


def test_a_failing_listing_is_named_and_exits_1_with_the_rest_written(
    cli: Cli, config_file: Path, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mock_box(mocked, "a")
    mock_box(mocked, "b", fail_at=2)
    mock_box(mocked, "c", BASE2)
    res = cli("export", "--config", str(config_file), "--format", "parquet", "-o", str(tmp_path / "ds"))
    assert res.code == 1
    assert "listing 'alpha box=b' failed" in res.err
    assert counts(tmp_path / "ds") == {"clitest": 5 + 2 + 5}


def test_without_pyarrow_the_message_names_the_extra(
    cli: Cli, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    res = cli("export", "--config", str(config_file), "--format", "parquet", "-o", str(tmp_path / "ds"))
    assert res.code == 2
    assert "pip install 'runtrack[parquet]'" in res.err and "Traceback" not in res.err
