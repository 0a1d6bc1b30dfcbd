"""A pass that fails or is interrupted ends its ``migrate_passes`` row as ``failed``/``interrupted`` with the error
text, never left ``running``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from runtrack.errors import AuthenticationError
from runtrack.migrate import Found, Item, Migration

from .memory_sink import MemoryDirection, MemorySink, memory_cli


class _Source:
    """Yields ``good`` records, then raises ``exc``."""

    def __init__(self, good: int, exc: BaseException) -> None:
        self.good, self.exc = good, exc

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(self.good):
            yield {"id": f"run-{i}", "value": f"v{i}"}
        raise self.exc


class _DeniedSink(MemorySink):
    def lookup(self, items: Sequence[Item]) -> dict[str, Found]:
        raise AuthenticationError("HTTP 401 Invalid token.")


def _passes(store: Path) -> list[tuple[str, str, str | None, str | None]]:
    conn = sqlite3.connect(store)
    try:
        return conn.execute("SELECT mode, status, error, finished_at IS NOT NULL FROM migrate_passes").fetchall()
    finally:
        conn.close()


def _migration(source: Any, sink: MemorySink, store: Path) -> Migration:
    return Migration(MemoryDirection(source=source, target=sink), store=store, settle_seconds=0)


def test_apply_failing_at_the_source_ends_its_pass_failed_with_the_error(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    with pytest.raises(AuthenticationError):
        _migration(_Source(6, AuthenticationError("HTTP 401 Invalid token.")), MemorySink(), store).apply()
    assert _passes(store) == [("apply", "failed", "HTTP 401 Invalid token.", 1)]


def test_apply_interrupted_by_ctrl_c_ends_its_pass_interrupted(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    with pytest.raises(KeyboardInterrupt):
        _migration(_Source(2, KeyboardInterrupt()), MemorySink(), store).apply()
    assert _passes(store) == [("apply", "interrupted", "KeyboardInterrupt", 1)]


def test_reconcile_failing_at_the_destination_ends_its_pass_failed(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    records = [{"id": "run-0", "value": "v0"}]
    _migration(records, MemorySink(), store).apply()
    with pytest.raises(AuthenticationError):
        _migration(records, _DeniedSink(), store).reconcile()
    assert _passes(store)[1] == ("reconcile", "failed", "HTTP 401 Invalid token.", 1)


def test_reconcile_interrupted_ends_its_pass_interrupted(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    with pytest.raises(KeyboardInterrupt):
        _migration(_Source(1, KeyboardInterrupt()), MemorySink(), store).reconcile()
    assert _passes(store) == [("reconcile", "interrupted", "KeyboardInterrupt", 1)]


def test_a_successful_pass_has_no_error(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    _migration([{"id": "run-0", "value": "v0"}], MemorySink(), store).apply()
    assert _passes(store) == [("apply", "ok", None, 1)]


def test_the_cli_says_how_the_last_pass_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from runtrack.cli import main

    denied = _Source(2, AuthenticationError("HTTP 401 Invalid token."))
    argv = memory_cli(monkeypatch, tmp_path, MemorySink(), [denied, [{"id": "run-0", "value": "v0"}]])
    assert main(argv) == 1
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "the last apply" in err and "ended failed: HTTP 401 Invalid token." in err
    assert _passes(tmp_path / "s.db")[-1] == ("apply", "ok", None, 1)


def test_a_state_file_from_before_the_error_column_is_upgraded_in_place(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    _migration([{"id": "run-0", "value": "v0"}], MemorySink(), store).apply()
    conn = sqlite3.connect(store)
    conn.execute("ALTER TABLE migrate_passes DROP COLUMN error")  # the version 1 table as first released
    conn.commit()
    conn.close()
    with pytest.raises(AuthenticationError):
        _migration(_Source(0, AuthenticationError("denied")), MemorySink(), store).apply()
    assert _passes(store) == [("apply", "ok", None, 1), ("apply", "failed", "denied", 1)]
