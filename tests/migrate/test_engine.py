"""The vendor-neutral engine against an in-memory sink: plan, apply, resume, bisection, reconcile."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runtrack.errors import NetworkError
from runtrack.migrate import Migration, MigrationError, destination_key

from .memory_sink import MemoryDirection, MemorySink


def _records(n: int) -> list[dict[str, Any]]:
    return [{"id": f"run-{i}", "value": f"v{i}"} for i in range(n)]


def _migration(source: list[dict[str, Any]], sink: MemorySink, store: Path | None, **options: Any) -> Migration:
    return Migration(MemoryDirection(source=source, target=sink, **options), store=store, settle_seconds=0)


def test_plan_writes_nothing(tmp_path: Path) -> None:
    sink = MemorySink()
    plan = _migration(_records(6), sink, tmp_path / "state.db").plan()
    assert plan.counts == {"create": 6, "update": 0, "skip": 0, "blocked": 0}
    assert sink.objects == {}
    assert all(not c.startswith(("create", "update", "prepare")) for c in sink.calls)
    assert not (tmp_path / "state.db").exists()


def test_apply_creates_once_and_a_no_op_reapply_sends_nothing(tmp_path: Path) -> None:
    sink, store = MemorySink(), tmp_path / "state.db"
    first = _migration(_records(10), sink, store).apply()
    assert first.counts["created"] == 10 and first.ok
    assert len(sink.objects) == 10
    sink.calls.clear()
    second = _migration(_records(10), sink, store).apply()
    assert second.counts == {"created": 0, "updated": 0, "skipped": 10, "blocked": 0, "failed": 0}
    assert sink.calls == ["prepare"]  # unchanged items the id map says are written are trusted
    assert len(sink.objects) == 10
    # without the id map (another store), everything is looked up and still nothing is written twice
    sink.calls.clear()
    third = _migration(_records(10), sink, tmp_path / "other.db").apply()
    assert third.counts["skipped"] == 10
    assert sink.calls == ["prepare", "lookup:4", "lookup:4", "lookup:2"]


def test_keys_are_deterministic(tmp_path: Path) -> None:
    sink = MemorySink()
    _migration(_records(1), sink, tmp_path / "s.db").apply()
    [(key, _)] = sink.objects.values()
    assert key == destination_key("memory-to-memory", "memory", "memory/box", "record", "run-0")


def test_changed_source_is_an_update_or_a_documented_skip(tmp_path: Path) -> None:
    sink, store = MemorySink(), tmp_path / "state.db"
    _migration(_records(3), sink, store).apply()
    changed = _records(3)
    changed[1]["value"] = "new"
    plan = _migration(changed, sink, store).plan()
    assert plan.counts["update"] == 1
    result = _migration(changed, sink, store).apply()
    assert result.counts["updated"] == 1
    assert sorted(p["value"] for _, p in sink.objects.values()) == ["new", "v0", "v2"]

    write_once = MemorySink(updatable=False)
    _migration(_records(3), write_once, tmp_path / "other.db").apply()
    plan = _migration(changed, write_once, tmp_path / "other.db").plan()
    assert plan.counts["skip"] == 3
    assert [e.reason for e in plan.items if e.reason] == ["changed at the source; the destination is write-once"]


def test_a_rejected_batch_is_bisected_to_the_bad_item(tmp_path: Path) -> None:
    sink, store = MemorySink(), tmp_path / "state.db"
    sink.reject_when = "v5"
    result = _migration(_records(8), sink, store).apply()
    assert result.counts["created"] == 7
    assert result.counts["blocked"] == 1
    [failure] = result.failures
    assert failure.source_key == "run-5" and failure.blocked and "'v5' is not allowed" in failure.reason
    assert sorted(p["value"] for _, p in sink.objects.values()) == [f"v{i}" for i in range(8) if i != 5]
    conn = sqlite3.connect(store)
    assert conn.execute("SELECT state, last_error FROM migrate_id_map WHERE source_key = 'run-5'").fetchone() == (
        "blocked",
        "value 'v5' is not allowed",
    )


def test_blocked_source_items_are_never_sent(tmp_path: Path) -> None:
    sink = MemorySink()
    records = _records(3)
    records[0]["value"] = None
    mig = _migration(records, sink, tmp_path / "s.db")
    assert mig.plan().blocked[0].reason == "no value"
    result = mig.apply()
    assert result.counts["blocked"] == 1 and result.counts["created"] == 2
    assert not result.ok


def test_a_network_error_leaves_items_in_flight_and_the_next_apply_looks_them_up(tmp_path: Path) -> None:
    sink, store = MemorySink(), tmp_path / "state.db"
    sink.fail_create = NetworkError("connection reset")
    result = _migration(_records(3), sink, store).apply()
    assert result.error is not None and "connection reset" in result.error
    assert result.counts["failed"] == 3
    conn = sqlite3.connect(store)
    assert {r[0] for r in conn.execute("SELECT state FROM migrate_id_map")} == {"in_flight"}
    # The server did write them after all (the answer was lost): the next apply finds them and creates nothing.
    sink.fail_create = None
    sink.create(list(_migration(_records(3), sink, store)._keyed(sink, {})))
    sink.calls.clear()
    again = _migration(_records(3), sink, store).apply()
    assert again.counts["created"] == 0 and again.counts["skipped"] == 3
    assert len(sink.objects) == 3
    assert {r[0] for r in conn.execute("SELECT state FROM migrate_id_map")} == {"written"}


def test_in_flight_items_not_found_are_looked_up_again_after_settling(tmp_path: Path) -> None:
    sink, store = MemorySink(), tmp_path / "state.db"
    sink.fail_create = NetworkError("timeout")
    _migration(_records(2), sink, store).apply()
    sink.fail_create = None
    slept: list[float] = []
    mig = Migration(MemoryDirection(source=_records(2), target=sink), store=store, sleep=slept.append)
    sink.calls.clear()
    assert mig.apply().counts["created"] == 2
    assert slept == [2.0]
    assert sink.calls[:4] == ["prepare", "lookup:2", "lookup:2", "create:2"]


def test_reconcile_reports_missing_extra_duplicates_and_mismatches(tmp_path: Path) -> None:
    sink, store = MemorySink(), tmp_path / "state.db"
    _migration(_records(4), sink, store).apply()
    clean = _migration(_records(4), sink, store).reconcile()
    assert clean.ok and clean.counts["verified"] == 4
    # delete one, duplicate one, edit one, add a stranger with a runtrack key
    by_source = {p["value"]: d for d, (_, p) in sink.objects.items()}
    del sink.objects[by_source["v0"]]
    key1, payload1 = sink.objects[by_source["v1"]]
    sink.objects["100"] = (key1, dict(payload1))
    sink.objects[by_source["v2"]] = (sink.objects[by_source["v2"]][0], {"value": "edited"})
    sink.objects["101"] = ("stranger", {"value": "x"})
    rec = _migration(_records(4), sink, store).reconcile()
    assert not rec.ok
    assert [m.source_key for m in rec.missing] == ["run-0"]
    assert sorted((e.dest_id, e.reason) for e in rec.extra) == [
        ("100", f"duplicate of {by_source['v1']}"),
        ("101", "not in the id map"),
    ]
    [mismatch] = rec.mismatched
    assert (mismatch.source_key, mismatch.field, mismatch.expected, mismatch.actual) == (
        "run-2",
        "value",
        "v2",
        "edited",
    )
    # the next apply recreates the missing one and rewrites the edited one
    result = _migration(_records(4), sink, store).apply()
    assert result.counts["created"] == 1 and result.counts["updated"] == 1


def test_apply_needs_a_store() -> None:
    with pytest.raises(MigrationError, match="need a store"):
        _migration(_records(1), MemorySink(), None).apply()


def test_state_tables_are_versioned(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    _migration(_records(1), MemorySink(), store).apply()
    conn = sqlite3.connect(store)
    assert conn.execute("SELECT value FROM migrate_meta WHERE key = 'schema_version'").fetchone() == ("1",)
    conn.execute("UPDATE migrate_meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    with pytest.raises(MigrationError, match="newer than this runtrack"):
        _migration(_records(1), MemorySink(), store).apply()


def test_a_source_key_listed_twice_is_one_destination_object(tmp_path: Path) -> None:
    sink, store = MemorySink(), tmp_path / "state.db"
    records = [*_records(3), {"id": "run-1", "value": "listed again"}]
    assert _migration(records, sink, store).plan().counts["create"] == 3
    assert _migration(records, sink, store).apply().counts["created"] == 3
    assert _migration(records, sink, store).apply().counts == {
        "created": 0,
        "updated": 0,
        "skipped": 3,
        "blocked": 0,
        "failed": 0,
    }


def test_containers_learned_during_a_plan_are_not_stored(tmp_path: Path) -> None:
    from runtrack.migrate import Containers, MigrationState, connect_store

    store = tmp_path / "s.db"
    state = MigrationState(connect_store(store), direction="d")
    read_only = Containers(state, "d", read_only=True)
    read_only.put("project", "k", "7")
    assert read_only.get("project", "k") == "7"
    assert Containers(state, "d").get("project", "k") is None
    Containers(state, "d").put("project", "k", "8")
    assert Containers(state, "d", read_only=True).get("project", "k") == "8"
    state.close()
