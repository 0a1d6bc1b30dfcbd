"""Keyset paging of ``Store.runs(after=uid)``: pages in uid order, each run exactly once, filters kept."""

from __future__ import annotations

from pathlib import Path

import runtrack
from runtrack import RunStatus

from .memory import MemoryAdapter, make_run


def test_pages_after_the_last_uid_cover_every_matching_run_once_in_uid_order(tmp_path: Path) -> None:
    runs = [make_run(n, status=RunStatus.FAILED if n % 3 == 0 else RunStatus.SUCCEEDED) for n in range(50)]
    with runtrack.open_store(tmp_path / "runs.db") as store:
        store.sync(MemoryAdapter(runs))
        for status, expected in ((None, runs), (RunStatus.FAILED, [r for r in runs if r.status is RunStatus.FAILED])):
            seen: list[str] = []
            after = ""
            while True:
                page = [r.uid for _, r in zip(range(7), store.runs(status=status, after=after), strict=False)]
                if not page:
                    break
                seen += page
                after = page[-1]
            assert seen == sorted(r.uid for r in expected)
        assert list(store.runs(after=max(r.uid for r in runs))) == []
