"""Passes: complete scans mark missing runs deleted per listing; failed, cut or interrupted passes never do; a
failed pass resumes from its stored cursor; cursor mode asks only for what changed; one writer per file."""

from __future__ import annotations

import multiprocessing
import os
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

import runtrack
from runtrack import ServerError
from runtrack.store import StoreLockedError
from runtrack.store.lock import WriterLock

from .memory import T0, IncrementalAdapter, MemoryAdapter, make_run


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


def test_a_complete_scan_marks_runs_it_no_longer_returns_deleted_and_keeps_them_readable(db: Path) -> None:
    runs = [make_run(i) for i in range(6)]
    src = MemoryAdapter(runs)
    with runtrack.open_store(db) as store:
        store.sync(src)
        src.data = runs[:2] + runs[3:]
        result = store.sync(src)
        assert result.deleted == 1 and result.complete
        assert store.count() == 5
        assert store.count(include_deleted=True) == 6
        assert runs[2] not in list(store.runs())
        assert runs[2] in list(store.runs(include_deleted=True))
        assert store.get(runs[2].uid) == runs[2]
        src.data = runs  # it comes back: alive again, counted as changed
        again = store.sync(src)
        assert (again.changed, again.deleted, store.count()) == (1, 0, 6)


def test_a_run_in_two_listings_is_not_deleted_when_only_one_drops_it(db: Path) -> None:
    shared = make_run(1, box="a")
    src = MemoryAdapter([shared, make_run(2, box="b")])
    other = MemoryAdapter([shared])
    with runtrack.open_store(db) as store:
        store.sync(src, source="all")
        store.sync(other, source="queue")
        src.data = [make_run(2, box="b")]
        assert store.sync(src, source="all").deleted == 0
        assert store.get(shared.uid) is not None and store.count() == 2
        other.data = []
        assert store.sync(other, source="queue").deleted == 1
        assert store.count() == 1


def test_a_failed_pass_stores_its_pages_marks_nothing_deleted_and_the_rerun_resumes(db: Path) -> None:
    runs = [make_run(i) for i in range(10)]  # 4 pages of 3
    src = MemoryAdapter(runs)
    with runtrack.open_store(db) as store:
        store.sync(src)
        src.data = runs[1:]  # r0 gone: only a complete pass may notice
        src.fail_at, src.pages_served = 2, 0
        with pytest.raises(ServerError) as info:
            store.sync(src)
        assert info.value.cursor  # typed, with where to resume
        assert store.count() == 10  # nothing marked deleted
        [record] = store.syncs(limit=1)
        assert not record.complete and "boom" in (record.error or "") and record.read == 6
        assert record.cursor == info.value.cursor
        [listing] = store.listings()
        assert listing.in_progress
        src.fail_at, src.pages_served = None, 0
        result = store.sync(src)
        assert result.resumed and result.complete
        assert result.read == 3  # only the pages after the stored cursor: offset 6 onwards
        assert result.deleted == 1 and store.count() == 9


def test_max_items_cuts_the_pass_which_marks_nothing_deleted_and_starts_over_next_time(db: Path) -> None:
    src = MemoryAdapter([make_run(i) for i in range(10)])
    with runtrack.open_store(db) as store:
        store.sync(src)
        src.data = src.data[5:]
        result = store.sync(src, max_items=3)
        assert (result.read, result.complete, result.deleted) == (3, False, 0)
        assert store.count() == 10
        assert not store.listings()[0].in_progress
        assert store.sync(src).resumed is False


def test_an_empty_listing_completes_and_deletes_what_it_held(db: Path) -> None:
    src = MemoryAdapter([make_run(1)])
    with runtrack.open_store(db) as store:
        store.sync(src)
        src.data = []
        result = store.sync(src)
        assert result.complete and result.deleted == 1 and store.count() == 0


def test_a_cursor_of_another_listing_in_the_store_starts_a_new_pass(db: Path) -> None:
    src = MemoryAdapter([make_run(i) for i in range(5)])
    with runtrack.open_store(db) as store:
        store.sync(src)
        conn = store.connect()
        conn.execute("UPDATE listings SET resume_cursor = 'rt1.garbage'")
        conn.close()
        result = store.sync(src)
        assert not result.resumed and result.complete and result.unchanged == 5


def test_cursor_mode_asks_from_the_watermark_minus_lag_and_never_deletes(db: Path) -> None:
    runs = [make_run(i) for i in range(6)]
    src = IncrementalAdapter(runs)
    with runtrack.open_store(db) as store:
        first = store.sync(src)
        assert first.mode == "cursor" and src.since_asked == [None] and first.inserted == 6
        newest = max(r.ended_at for r in runs if r.ended_at)
        later = attrs.evolve(runs[0], ended_at=newest + timedelta(hours=1), name="changed")
        src.data = [later, *runs[1:3]]  # runs 3..5 are not returned: cursor mode must not delete them
        second = store.sync(src)
        assert src.since_asked[-1] == newest - timedelta(minutes=5)
        # only runs ended at or after the bound come back: the changed one and two inside the lag window
        assert (second.read, second.changed, second.unchanged, second.deleted) == (3, 1, 2, 0)
        assert store.count() == 6 and store.get(later.uid) == later
        full = store.sync(src, full=True)  # --full: a scan, which may delete
        assert full.mode == "scan" and full.deleted == 3 and src.since_asked[-1] is None


def _hold_lock(path: str, ready: multiprocessing.synchronize.Event, done: multiprocessing.synchronize.Event) -> None:
    with WriterLock(Path(path), timeout=5):
        ready.set()
        done.wait(10)


def test_a_second_writer_waits_then_fails_naming_the_file_and_the_other_process(db: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready, done = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(db), ready, done))
    holder.start()
    try:
        assert ready.wait(10)
        with runtrack.open_store(db, lock_timeout=0.2) as store:
            with pytest.raises(StoreLockedError) as info:
                store.sync(MemoryAdapter([make_run(1)]))
            assert info.value.pid == holder.pid
            assert str(db) in str(info.value) and f"process {holder.pid}" in str(info.value)
            assert store.count() == 0  # readers are not blocked by the writer
        done.set()
        holder.join(10)
        with runtrack.open_store(db, lock_timeout=5) as store:
            assert store.sync(MemoryAdapter([make_run(1)])).inserted == 1
    finally:
        done.set()
        holder.join(10)
        if holder.is_alive():
            os.kill(holder.pid or 0, 9)


def test_readers_see_committed_pages_while_a_sync_is_in_progress(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runtrack.store import ahead

    monkeypatch.setattr(ahead, "BUDGET", 1)  # one page per transaction (this listing has all its pages at once)
    src = MemoryAdapter([make_run(i) for i in range(9)])
    seen: list[int] = []
    with runtrack.open_store(db) as store, runtrack.open_store(db) as reader:

        class Spy:
            def advance(self, n: int) -> None:
                seen.append(reader.count())

        store.sync(src, progress=Spy())  # type: ignore[arg-type]
    assert seen == [3, 6, 9]


def test_history_times_come_from_the_clock(db: Path) -> None:
    with runtrack.open_store(db) as store:
        store.sync(MemoryAdapter([make_run(1)]), clock=lambda: T0)
        assert [h.at for h in store.history(make_run(1).uid)] == [T0]


def test_a_run_listed_twice_in_one_pass_keeps_its_first_version_and_resyncs_change_nothing(db: Path) -> None:
    first = make_run(1, box="a")
    second = attrs.evolve(first, scope={"box": "b"}, name="other queue")  # same uid, other container
    src = MemoryAdapter([first, make_run(2), make_run(3), second, make_run(4)])  # pages of 3: the copy on page 2
    with runtrack.open_store(db) as store:
        result = store.sync(src)
        assert (result.read, result.inserted, result.unchanged) == (5, 4, 1)
        assert store.get(first.uid) == first
        again = store.sync(src)
        assert (again.changed, again.unchanged, again.deleted) == (0, 5, 0)
        src.data = [first, first]  # twice on one page
        assert store.sync(src).unchanged == 2


@pytest.mark.parametrize("workers", [1, 3])
def test_sync_many_reads_listings_at_once_and_stores_them_in_job_order(db: Path, workers: int) -> None:
    from runtrack.store import SyncJob

    adapters = [MemoryAdapter([make_run(10 * k + i, box=f"b{k}") for i in range(7)]) for k in range(4)]
    adapters[2].fail_at = 1  # fails on its second page, after one page is stored
    jobs = [SyncJob(adapter=a, source=f"s{k}") for k, a in enumerate(adapters)]
    with runtrack.open_store(db) as store:
        outcomes = list(store.sync_many(jobs, workers=workers))
        assert [job.source for job, _ in outcomes] == ["s0", "s1", "s2", "s3"]
        assert isinstance(outcomes[2][1], ServerError)
        assert [o.inserted for _, o in outcomes if not isinstance(o, Exception)] == [7, 7, 7]
        assert [r.source for r in reversed(store.syncs())] == ["s0", "s1", "s2", "s3"]  # stored in job order
        stored = [r.native_id for r in store.runs()]
        assert stored == [f"r{n}" for n in [*range(7), *range(10, 17), *range(20, 23), *range(30, 37)]]
        adapters[2].fail_at = None
        again = dict(store.sync_many(jobs, workers=workers))
        assert [(r.read, r.resumed) for r in again.values() if not isinstance(r, Exception)] == [
            (7, False),
            (7, False),
            (4, True),
            (7, False),
        ]
