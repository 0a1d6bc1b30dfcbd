"""Opt-in end times: Model Studio runs have no end time, their Orchestration builds do (``finishedTime``).

:class:`EndTimeEnricher` wraps a run listing. For each page it asks ``POST /api/v2/orchestration/builds/getBatch``
(GA, at most 100 builds per request) for the builds it has not seen finished yet, and fills ``ended_at`` from
``finishedTime`` when the build is no longer running. Finished builds are cached by RID (bounded), so a build is
fetched once per adapter while it is finished, and again while it still runs.

Build RIDs have two spellings: run payloads say ``ri.foundry-build.main.build.<id>``, the builds API documents
``ri.foundry.main.build.<id>``. The run's RID is sent as it is, and the answer is matched on the instance and
locator, whichever service name it uses. A run whose build the API does not return is logged (a warning per
page), never silently left without an end time.
"""

from __future__ import annotations

import collections
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import attrs

from runtrack import PayloadError, Run
from runtrack.convert import parse_datetime
from runtrack.paginate import Listing, RawPage, Request, State

__all__ = ["BATCH_PATH", "BATCH_SIZE", "BuildEndTimes", "EndTimeEnricher"]

log = logging.getLogger("runtrack.foundry")

BATCH_PATH = "api/v2/orchestration/builds/getBatch"
#: The vendor's limit for one getBatch request (the SDK checks 1..100 on the client side).
BATCH_SIZE = 100


_BUILD_RID = re.compile(r"^ri\.[a-z0-9-]+\.(?P<instance>[a-z0-9-]*)\.build\.(?P<locator>.+)$")


def build_key(rid: str) -> str:
    """A build RID without its service name: ``ri.foundry-build.main.build.X`` and ``ri.foundry.main.build.X``
    are the same build."""
    m = _BUILD_RID.match(rid)
    return f"build:{m['instance']}.{m['locator']}" if m else rid


class BuildEndTimes:
    """``finishedTime`` of builds by RID, fetched in batches and cached while the build is finished."""

    def __init__(self, fetch: Callable[[Request], Any], *, cache_size: int = 10_000) -> None:
        self._fetch = fetch
        self._cache: collections.OrderedDict[str, datetime] = collections.OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.requests = 0  #: getBatch requests made so far
        #: build RIDs that getBatch did not return (no access, deleted, or an unknown spelling)
        self.not_returned: set[str] = set()

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
        returned = {build_key(k): k for k in data if isinstance(k, str)}
        for rid in rids:
            key = returned.get(build_key(rid))
            build = data.get(key) if key is not None else None
            if not isinstance(build, dict):
                self.not_returned.add(rid)
                continue
            self.not_returned.discard(rid)
            if str(build.get("status")).upper() == "RUNNING":
                continue  # still running: the end time stays unknown
            when = parse_datetime(build.get("finishedTime"), f"$.data[{key!r}].finishedTime")
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
            missing = [rid for rid in rids if rid in self.end_times.not_returned]
            if missing:
                log.warning(
                    "enrich_end_times: %d run(s) of this page have a build that %s did not return (no access, "
                    "deleted, or an unknown RID spelling); their ended_at stays unknown, e.g. %s",
                    len(missing),
                    BATCH_PATH,
                    missing[0],
                )
            if not ends:
                yield page
                continue
            items = tuple(
                attrs.evolve(run, ended_at=ends[rid]) if (rid := run.scope.get("build_rid")) in ends else run
                for run in page.items
            )
            yield attrs.evolve(page, items=items)
