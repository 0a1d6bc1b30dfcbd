"""Opt-in end times: Model Studio runs have no end time, their Orchestration builds do (``finishedTime``).

:class:`EndTimeEnricher` wraps a run listing. For each page it asks ``POST /api/v2/orchestration/builds/getBatch``
(GA, at most 100 builds per request) for the builds it has not seen finished yet, and fills ``ended_at`` from
``finishedTime`` when the build is no longer running. Finished builds are cached by RID (bounded), so a build is
fetched once per adapter while it is finished, and again while it still runs.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import attrs

from runtrack import PayloadError, Run
from runtrack.convert import parse_datetime
from runtrack.paginate import Listing, RawPage, Request, State

__all__ = ["BATCH_PATH", "BATCH_SIZE", "BuildEndTimes", "EndTimeEnricher"]

BATCH_PATH = "api/v2/orchestration/builds/getBatch"
#: The vendor's limit for one getBatch request (the SDK checks 1..100 on the client side).
BATCH_SIZE = 100


class BuildEndTimes:
    """``finishedTime`` of builds by RID, fetched in batches and cached while the build is finished."""

    def __init__(self, fetch: Callable[[Request], Any], *, cache_size: int = 10_000) -> None:
        self._fetch = fetch
        self._cache: collections.OrderedDict[str, datetime] = collections.OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.requests = 0  #: getBatch requests made so far

    def lookup(self, build_rids: Sequence[str]) -> dict[str, datetime]:
        """End times of the finished builds among ``build_rids`` (running or unknown builds are absent)."""
        found: dict[str, datetime] = {}
        missing: list[str] = []
        with self._lock:
            for rid in build_rids:
                when = self._cache.get(rid)
                if when is not None:
                    found[rid] = when
                    self._cache.move_to_end(rid)
                elif rid not in missing:
                    missing.append(rid)
        for start in range(0, len(missing), BATCH_SIZE):
            found.update(self._fetch_batch(missing[start : start + BATCH_SIZE]))
        return found

    def _fetch_batch(self, rids: list[str]) -> dict[str, datetime]:
        body = self._fetch(
            Request(method="POST", path=BATCH_PATH, json=[{"buildRid": rid} for rid in rids], idempotent=True)
        )
        self.requests += 1
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise PayloadError(f"{BATCH_PATH}: expected an object of builds by RID", path="$.data")
        found: dict[str, datetime] = {}
        for rid in rids:
            build = data.get(rid)
            if not isinstance(build, dict) or str(build.get("status")).upper() == "RUNNING":
                continue  # not returned (no access, deleted) or still running: the end time stays unknown
            when = parse_datetime(build.get("finishedTime"), f"$.data[{rid!r}].finishedTime")
            if when is not None:
                found[rid] = when
        with self._lock:
            for rid, when in found.items():
                self._cache[rid] = when
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return found


class EndTimeEnricher:
    """A run listing whose pages carry ``ended_at`` from the runs' builds."""

    def __init__(self, inner: Listing[Run], end_times: BuildEndTimes) -> None:
        self.inner = inner
        self.end_times = end_times

    def resume_at(self, state: State, position: int) -> State:
        return self.inner.resume_at(state, position)

    def pages(self, state: State) -> Iterator[RawPage[Run]]:
        for page in self.inner.pages(state):
            rids = [rid for rid in (run.scope.get("build_rid") for run in page.items if run.ended_at is None) if rid]
            if not rids:
                yield page
                continue
            ends = self.end_times.lookup(rids)
            if not ends:
                yield page
                continue
            items = tuple(
                attrs.evolve(run, ended_at=ends[rid]) if (rid := run.scope.get("build_rid")) in ends else run
                for run in page.items
            )
            yield attrs.evolve(page, items=items)
