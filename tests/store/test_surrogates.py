"""Lone surrogates (legal JSON, so possible in any vendor's name, error or id) through the store: stored, read back
equal, re-synced as unchanged, and every store-backed output stays valid UTF-8 (docs/security.md)."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

import runtrack
from runtrack.cli import main

from .memory import MemoryAdapter, make_run

HOSTILE = make_run(
    1,
    native_id="r-\ud800",
    name="name \udcff",
    error="boom \udfff",
    status=runtrack.RunStatus.FAILED,
    status_raw="failed\ud801",
    raw={"id": "r-\ud800", "note": "\udc00 in raw"},
)
TWIN = make_run(1, native_id="r-\ud801")  # another wire id that differs only in the surrogate


def test_a_run_with_lone_surrogates_is_stored_read_back_equal_and_resynced_unchanged(tmp_path: Path) -> None:
    with runtrack.open_store(tmp_path / "runs.db") as store:
        first = store.sync(MemoryAdapter([HOSTILE, TWIN, make_run(2)]))
        assert (first.inserted, first.complete) == (3, True)
        assert store.get(HOSTILE.uid) == HOSTILE
        assert store.get(TWIN.uid) == TWIN  # never merged with the other surrogate id
        again = store.sync(MemoryAdapter([HOSTILE, TWIN, make_run(2)]))
        assert (again.inserted, again.changed, again.unchanged) == (0, 0, 3)
        running = attrs.evolve(HOSTILE, status=runtrack.RunStatus.RUNNING, status_raw="running\ud802")
        changed = store.sync(MemoryAdapter([running, TWIN, make_run(2)]))
        assert changed.changed == 1
        # history is a query column: the surrogate is kept as the text escape (the run itself stays lossless)
        assert [c.status_raw for c in store.history(HOSTILE.uid)][-1] == "running\\ud802"
        assert {r.uid for r in store.runs(status=runtrack.RunStatus.RUNNING)} == {HOSTILE.uid}


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "csv", "html"])
def test_reports_and_listings_from_such_a_store_are_valid_utf8(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "runs.db"
    with runtrack.open_store(db) as store:
        store.sync(MemoryAdapter([HOSTILE, make_run(2)]))
    out = tmp_path / f"report.{fmt}"
    assert main(["report", "--store", str(db), "--format", fmt, "-o", str(out)]) == 0
    out.read_bytes().decode("utf-8")  # strict: raises on anything that is not UTF-8
    capsys.readouterr()
    assert main(["runs", "memory", "--store", str(db), "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert {json.loads(line)["native_id"] for line in lines} == {"r-\ud800", "r2"}  # the JSON escape is lossless
