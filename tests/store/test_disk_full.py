"""A store write that hits a full disk fails with a clear error naming the file; the store stays readable and the
next sync completes (resuming from the last page stored)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import runtrack
from runtrack.store import StoreWriteError, ahead

from .memory import MemoryAdapter, make_run


def test_disk_full_in_the_middle_of_a_sync_is_clear_and_recoverable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ahead, "BUDGET", 1)  # one page per transaction (this listing has all its pages at once)
    db = tmp_path / "runs.db"
    big = [make_run(i, raw={"id": i, "blob": "x" * 3000}) for i in range(60)]  # 20 pages of 3
    src = MemoryAdapter(big[:3])
    with runtrack.open_store(db) as store:
        store.sync(src)
        # the disk is "full" a few pages from now: the file may not grow beyond its size now plus a little
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages + 12}")
        src.data = big
        with pytest.raises(StoreWriteError) as info:
            store.sync(src)
        message = str(info.value)
        assert str(db) in message and "full" in message and "resumes" in message
        stored = store.count()
        assert 3 <= stored < 60  # the pages before the failing one are stored
        assert all(store.get(r.uid) == r for r in big[:stored])
    # a fresh process (no page limit) on the same file: intact, readable, and the sync completes
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with runtrack.open_store(db) as store:
        assert store.count() == stored
        result = store.sync(src)
        assert result.resumed and result.complete
        assert list(store.runs()) == big
