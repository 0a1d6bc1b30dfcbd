"""Reconcile lists items that are in the id map but no longer in the source ("gone from source") and deletes
nothing at the destination; they do not make the reconciliation fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtrack.migrate import Migration

from .memory_sink import MemoryDirection, MemorySink, memory_cli


def _records(n: int) -> list[dict[str, Any]]:
    return [{"id": f"run-{i}", "value": f"v{i}"} for i in range(n)]


def _migration(source: list[dict[str, Any]], sink: MemorySink, store: Path) -> Migration:
    return Migration(MemoryDirection(source=source, target=sink), store=store, settle_seconds=0)


def test_reconcile_lists_items_gone_from_the_source_and_deletes_nothing(tmp_path: Path) -> None:
    sink, store = MemorySink(), tmp_path / "s.db"
    assert _migration(_records(4), sink, store).apply().ok
    dest_of = {p["value"]: d for d, (_, p) in sink.objects.items()}
    left = [r for r in _records(4) if r["id"] != "run-2"]
    rec = _migration(left, sink, store).reconcile()
    assert rec.ok and rec.gone_checked
    assert [(g.source_key, g.dest_id) for g in rec.gone] == [("run-2", dest_of["v2"])]
    assert rec.counts["gone"] == 1 and rec.counts["verified"] == 3 and rec.counts["extra"] == 0
    assert len(sink.objects) == 4  # nothing deleted at the destination
    assert _migration(left, sink, store).apply().counts["created"] == 0


def test_a_narrowed_scope_does_not_call_the_rest_gone(tmp_path: Path) -> None:
    sink, store = MemorySink(), tmp_path / "s.db"
    _migration(_records(3), sink, store).apply()
    rec = _migration(_records(1), sink, store).reconcile(queue_id="q1")
    assert rec.gone == () and not rec.gone_checked and "gone" not in rec.counts


def test_the_cli_lists_them_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from runtrack.cli import main

    argv = memory_cli(monkeypatch, tmp_path, MemorySink(), [_records(2), _records(1)])
    assert main(argv) == 0
    capsys.readouterr()
    assert main([*argv, "--reconcile", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "gone from source run-1 (written as 2; not deleted at the destination)" in captured.err
    assert '"gone": 1' in captured.out
