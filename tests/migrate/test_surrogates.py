"""A lone surrogate in a source key or payload text (legal JSON) round-trips through the migration state:
plan → apply → a second apply that creates nothing → reconcile."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from runtrack.migrate import Migration

from .memory_sink import MemoryDirection, MemorySink

ODD = [
    {"id": "run-\ud800", "value": "name \udc00 here"},
    {"id": "run-\\ud800", "value": "the six characters \\ud800"},  # must stay a different item
    {"id": "run-plain", "value": "plain"},
]


def _migration(sink: MemorySink, store: Path) -> Migration:
    return Migration(MemoryDirection(source=ODD, target=sink), store=store, settle_seconds=0)


def test_plan_apply_reapply_reconcile_with_lone_surrogates(tmp_path: Path) -> None:
    sink, store = MemorySink(), tmp_path / "s.db"
    assert _migration(sink, store).plan().counts["create"] == 3
    first = _migration(sink, store).apply()
    assert first.ok and first.counts["created"] == 3, first
    assert sorted(p["value"] for _, p in sink.objects.values()) == sorted(r["value"] for r in ODD)
    sink.calls.clear()
    second = _migration(sink, store).apply()
    assert second.counts == {"created": 0, "updated": 0, "skipped": 3, "blocked": 0, "failed": 0}
    assert sink.calls == ["prepare"]  # every item, the surrogate one too, recognised from the id map
    rec = _migration(sink, store).reconcile()
    assert rec.ok and rec.counts["verified"] == 3, rec
    conn = sqlite3.connect(store)
    assert conn.execute("SELECT COUNT(*) FROM migrate_id_map").fetchone() == (3,)
    assert {r[0] for r in conn.execute("SELECT state FROM migrate_id_map")} == {"verified"}


def test_a_blocked_reason_with_a_lone_surrogate_is_kept(tmp_path: Path) -> None:
    sink, store = MemorySink(), tmp_path / "s.db"
    sink.reject_when = "name \udc00 here"
    result = _migration(sink, store).apply()
    assert result.counts["blocked"] == 1 and result.counts["created"] == 2
    rec = _migration(sink, store).reconcile()
    [blocked] = rec.blocked
    assert blocked.source_key == "run-\ud800" and blocked.reason == "value 'name \\udc00 here' is not allowed"
