"""The data behind ``FakeLangSmith``: annotation queues, their entries and runs (seeded, lazily materialised),
and what is added at run time. No HTTP here: the routes are in ``_langsmith.py``."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from runtrack.testing import _data as data
from runtrack.testing import _langsmith_data as runs_data
from runtrack.testing._fastapi import canonical_uuid, parse_datetime_us
from runtrack.testing._jsonutil import loads

#: Entry codes from here on are entries added at run time (re-queued, shared, drift); lower codes are seeded.
RUN_TIME_ENTRY = 1 << 40
#: Review sections of the seeded entries, in percent: needs_my_review, needs_others_review, completed/archived.
SECTION_WEIGHTS = (45, 20, 35)
#: ``status`` of ``GET .../runs`` -> review section
SECTION_OF_STATUS = {"needs_my_review": 0, "needs_others_review": 1, "completed": 2}
ARCHIVED = 2
REVIEWERS = 4
QUEUE_NAMES = (
    "Support answers review",
    "Hallucination triage",
    "Weekly QA sample",
    "Escalations",
    "Tool-call errors",
    "Prompt v2 A/B",
    "Refund policy answers",
    "Low-confidence answers",
)
SECOND_US = 1_000_000
HOUR_US = 3_600 * SECOND_US
#: the smallest gap between two seeded entries of a queue
MIN_ENTRY_SPACING_US = 1_000
#: a seeded run was queued between one minute and about two days after it started: the lag is a
#: multiplicative hash (Knuth's 2654435761) of the run's index, salted per queue and seed, modulo a prime
QUEUE_LAG_MIN_US = 60 * SECOND_US
QUEUE_LAG_HASH = 2_654_435_761
QUEUE_LAG_QUEUE_SALT = 97_531
QUEUE_LAG_BUCKETS = 1_000_003
QUEUE_LAG_STEP_US = 172_000
#: runs and entries created at run time are one second apart, after the epoch
RUN_TIME_SPACING_US = SECOND_US
#: how long after being queued a reviewed item was last reviewed
REVIEW_DELAY_US = 90 * SECOND_US
#: a THREAD item's thread started this long before it was queued
THREAD_LEAD_US = HOUR_US
#: one THREAD item in this many has no start time
THREADS_WITHOUT_START_ONE_IN = 4
PERCENT = 100
#: mixes an entry code into the queue-part hash (a prime, so neighbouring codes differ)
ENTRY_HASH_PRIME = 7919


@dataclass(frozen=True)
class Extra:
    """An entry added at run time: the run's key, its queue item id, when it was added and its section."""

    run: tuple[int, int]
    qr_id: str
    added_us: int
    section: int


class Queue:
    """One annotation queue: ``n`` seeded runs, ``threads`` THREAD items, then run-time entries."""

    def __init__(self, idx: int, queue_id: str, n: int, threads: int) -> None:
        self.idx, self.id, self.n, self.threads = idx, queue_id, n, threads
        self.spacing = max(runs_data.SPAN_US // max(n + threads, 1), MIN_ENTRY_SPACING_US)
        self.order: list[int] | None = None  # entry codes, oldest first
        self.sections = bytearray()
        self.extras: list[Extra] = []
        self.extra_keys: dict[tuple[int, int], int] = {}
        self.version = 0
        self.listings: dict[tuple[Any, ...], list[int]] = {}

    def section(self, code: int) -> int:
        return self.extras[code - RUN_TIME_ENTRY].section if code >= RUN_TIME_ENTRY else self.sections[code]

    def size(self) -> int:
        return self.n + self.threads + len(self.extras)


class QueueStore:
    """Every queue, its entries and the runs behind them: seeded lazily, plus what is added at run time.

    An entry is identified by its *code* within its queue: ``0..n-1`` are the seeded runs (code 0 the newest),
    ``n..n+threads-1`` the THREAD items, and codes from :data:`RUN_TIME_ENTRY` on the entries added at run time.
    A run is identified by its *key* ``(home queue index, index in that queue)``. Thread-safe (one re-entrant lock).
    """

    def __init__(
        self,
        *,
        seed: int,
        queues: int,
        runs_per_queue: int,
        threads_per_queue: int,
        shared_runs: int,
        projects: int,
        tenant_id: str | None,
    ) -> None:
        self.seed = seed
        self.prefix = f"{seed}|langsmith|".encode()
        self.tenant_id = tenant_id or data.uuid4(data.digest(self.prefix, "tenant"))
        self.project_ids = [data.uuid4(data.digest(self.prefix, "project", k)) for k in range(max(projects, 1))]
        self.reviewer_ids = [data.uuid4(data.digest(self.prefix, "reviewer", k)) for k in range(REVIEWERS)]
        self.pools = runs_data.Pools(seed, self.tenant_id)
        self.queues = [
            Queue(q, data.uuid4(data.digest(self.prefix, "queue", q)), runs_per_queue, threads_per_queue)
            for q in range(queues)
        ]
        self.by_id = {queue.id: queue for queue in self.queues}
        self.lock = threading.RLock()
        self.created = [0] * queues  # runs created at run time, per home queue
        self.index: dict[str, tuple[int, int]] | None = None
        self.all_sorted: tuple[int, list[tuple[int, tuple[int, int]]]] | None = None
        self.runs_version = 0
        self.extra_clock = 0
        for queue in self.queues[1:]:
            prev = self.queues[queue.idx - 1]
            self.add_entries(queue, [(prev.idx, i) for i in range(min(shared_runs, prev.n))], None)

    # -- ground truth ----------------------------------------------------------------------------

    @property
    def queue_ids(self) -> list[str]:
        """Queue ids in listing order."""
        return [queue.id for queue in self.queues]

    @property
    def runs_by_queue(self) -> dict[str, list[str]]:
        """Run ids per queue in ``GET .../runs`` order (newest first), as of now."""
        return {
            queue.id: [self.entry_run_id(queue, c) for c in self.listing(queue, None, None)] for queue in self.queues
        }

    @property
    def items_by_queue(self) -> dict[str, list[str]]:
        """Queue item ids (``queue_run_id``; THREAD items included) per queue, newest first."""
        out: dict[str, list[str]] = {}
        for queue in self.queues:
            order = self.materialize(queue)
            out[queue.id] = [self.entry_item(queue, c)["id"] for c in reversed(order)]
        return out

    def all_run_ids(self) -> set[str]:
        """Distinct run ids over every queue."""
        return {rid for ids in self.runs_by_queue.values() for rid in ids}

    def queue_runs(self, queue_id: str, status: str | None = None, archived: bool | None = None) -> list[Any]:
        """What ``GET .../runs`` would list over all pages (parsed rows), for assertions."""
        queue = self.by_id[queue_id]
        rows = [self.row(queue, c) for c in self.listing(queue, SECTION_OF_STATUS.get(status or ""), archived)]
        return list(loads(b"[" + b",".join(rows) + b"]"))

    def run(self, run_id: str) -> Any:
        """The v1 ``RunSchema`` of a run (no queue fields)."""
        key = self.run_index()[run_id]
        return loads(runs_data.v1_run_bytes(self.facts(key), self.pools, self.tenant_id) + b"}")

    def add_runs(self, queue_id: str, run_ids: Iterable[str]) -> list[str]:
        """Queue existing runs (like ``POST .../runs``); returns the queue item ids."""
        index = self.run_index()
        queue = self.by_id[queue_id]
        return [e.qr_id for e in self.add_entries(queue, [index[r] for r in run_ids], 0)]

    def insert_runs(self, queue_id: str, count: int) -> list[str]:
        """Create ``count`` new runs at the head of a queue (what ``offset_drift`` does); returns their ids."""
        return self.insert_new(self.by_id[queue_id], count)

    # -- data model ------------------------------------------------------------------------------

    def materialize(self, queue: Queue) -> list[int]:
        with self.lock:
            if queue.order is None:
                rng = random.Random(f"{self.seed}:{queue.idx}:sections")
                total = queue.n + queue.threads
                queue.sections = bytearray(rng.choices(range(3), weights=SECTION_WEIGHTS, k=total))
                newest: list[int] = []
                step = queue.n // (queue.threads + 1) if queue.threads else 0
                t = 0
                for i in range(queue.n):
                    newest.append(i)
                    if queue.threads and t < queue.threads and (i + 1) == step * (t + 1):
                        newest.append(queue.n + t)
                        t += 1
                newest.extend(queue.n + k for k in range(t, queue.threads))
                newest.reverse()
                queue.order = newest + [RUN_TIME_ENTRY + j for j in range(len(queue.extras))]
            return queue.order

    def listing(self, queue: Queue, section: int | None, archived: bool | None, runs: bool = True) -> list[int]:
        """Entry codes, newest first, filtered by review section / archived; THREAD items only if not runs."""
        key = (runs, section, archived)
        with self.lock:
            cached = queue.listings.get(key)
            if cached is not None:
                return cached
            order = self.materialize(queue)
            out: list[int] = []
            n, limit = queue.n, queue.n + queue.threads
            for code in reversed(order):
                if runs and n <= code < limit:
                    continue
                sec = queue.section(code)
                if section is not None and sec != section:
                    continue
                if archived is not None and (sec == ARCHIVED) != archived:
                    continue
                out.append(code)
            queue.listings[key] = out
            return out

    def start_us(self, key: tuple[int, int]) -> int:
        q, i = key
        queue = self.queues[q]
        if i < queue.n:
            lag = (
                QUEUE_LAG_MIN_US
                + ((i * QUEUE_LAG_HASH + q * QUEUE_LAG_QUEUE_SALT + self.seed) % QUEUE_LAG_BUCKETS) * QUEUE_LAG_STEP_US
            )
            return data.EPOCH_US - (i + 1) * queue.spacing - lag
        return data.EPOCH_US + (i - queue.n + 1) * RUN_TIME_SPACING_US - RUN_TIME_SPACING_US // 2

    def facts(self, key: tuple[int, int]) -> runs_data.RunFacts:
        return runs_data.facts(self.prefix, key[0], key[1], self.start_us(key), self.project_ids)

    def run_id(self, key: tuple[int, int]) -> str:
        return data.uuid7(self.start_us(key) // 1000, data.digest(self.prefix, key[0], key[1]), 0)

    def entry(self, queue: Queue, code: int) -> tuple[tuple[int, int], str, int, int]:
        """(run key, queue item id, added_at us, section) of an entry code."""
        if code >= RUN_TIME_ENTRY:
            e = queue.extras[code - RUN_TIME_ENTRY]
            return e.run, e.qr_id, e.added_us, e.section
        added = data.EPOCH_US - (code + 1) * queue.spacing
        return (
            (queue.idx, code),
            data.uuid4(data.digest(self.prefix, "qr", queue.idx, code)),
            added,
            queue.sections[code],
        )

    def entry_run_id(self, queue: Queue, code: int) -> str:
        return self.run_id(self.entry(queue, code)[0])

    def row(self, queue: Queue, code: int) -> bytes:
        key, qr_id, added, section = self.entry(queue, code)
        body = runs_data.v1_run_bytes(self.facts(key), self.pools, self.tenant_id)
        return body + runs_data.queue_part(
            qr_id, added, section, self.reviewer_ids, code * ENTRY_HASH_PRIME + queue.idx
        )

    def entry_item(self, queue: Queue, code: int) -> dict[str, Any]:
        if queue.n <= code < queue.n + queue.threads:
            h = data.digest(self.prefix, "thread", queue.idx, code)
            t, step = code - queue.n, queue.n // (queue.threads + 1)
            added = (
                data.EPOCH_US - step * (t + 1) * queue.spacing - queue.spacing // 2
                if step
                else data.EPOCH_US - (queue.n + t + 1) * queue.spacing
            )
            item: dict[str, Any] = {
                "id": data.uuid4(h),
                "queue_id": queue.id,
                "item_type": "THREAD",
                "run_id": None,
                "thread_id": f"thread-{h[16:24].hex()}",
                "project_id": self.project_ids[h[30] % len(self.project_ids)],
                "start_time": None if h[31] % THREADS_WITHOUT_START_ONE_IN == 0 else data.iso_z(added - THREAD_LEAD_US),
            }
            section = queue.sections[code]
        else:
            key, qr_id, added, section = self.entry(queue, code)
            f = self.facts(key)
            item = {
                "id": qr_id,
                "queue_id": queue.id,
                "item_type": "RUN",
                "run_id": f.id,
                "thread_id": None,
                "project_id": f.session,
                "start_time": data.iso_z(f.start_us),
            }
        reviewed = None if section == 0 else data.iso_z(added + REVIEW_DELAY_US)
        done = [self.reviewer_ids[code % len(self.reviewer_ids)]] if section == ARCHIVED else []
        item.update(
            {
                "added_at": data.iso_z(added),
                "effective_added_at": data.iso_z(added),
                "last_reviewed_time": reviewed,
                "completed_by": done,
                "reserved_by": [],
                "assigned_to": [],
                "source_proposed_example_id": None,
            }
        )
        return item

    def item_start_us(self, queue: Queue, code: int) -> int | None:
        start = self.entry_item(queue, code)["start_time"]
        return None if start is None else parse_datetime_us(start)

    def add_entries(self, queue: Queue, keys: list[tuple[int, int]], section: int | None) -> list[Extra]:
        out: list[Extra] = []
        with self.lock:
            self.materialize(queue)
            for key in keys:
                if key[0] == queue.idx and key[1] < queue.n:
                    _, qr, added, sec = self.entry(queue, key[1])
                    out.append(Extra(key, qr, added, sec))
                    continue
                known = queue.extra_keys.get(key)
                if known is not None:
                    out.append(queue.extras[known])
                    continue
                self.extra_clock += 1
                h = data.digest(self.prefix, "extra", queue.idx, len(queue.extras))
                sec = section if section is not None else _pick_section(h[0] % PERCENT)
                extra = Extra(key, data.uuid4(h), data.EPOCH_US + self.extra_clock * RUN_TIME_SPACING_US, sec)
                queue.extra_keys[key] = len(queue.extras)
                assert queue.order is not None
                queue.order.append(RUN_TIME_ENTRY + len(queue.extras))
                queue.extras.append(extra)
                out.append(extra)
            queue.version += 1
            queue.listings.clear()
        return out

    def insert_new(self, queue: Queue, count: int) -> list[str]:
        with self.lock:
            keys = [(queue.idx, queue.n + self.created[queue.idx] + k) for k in range(count)]
            self.created[queue.idx] += count
            self.runs_version += 1
            if self.index is not None:
                for key in keys:
                    self.index[self.run_id(key)] = key
            self.add_entries(queue, keys, None)
        return [self.run_id(k) for k in keys]

    def run_index(self) -> dict[str, tuple[int, int]]:
        with self.lock:
            if self.index is None:
                index: dict[str, tuple[int, int]] = {}
                for queue in self.queues:
                    for i in range(queue.n + self.created[queue.idx]):
                        index[self.run_id((queue.idx, i))] = (queue.idx, i)
                self.index = index
            return self.index

    def all_runs_sorted(self) -> list[tuple[int, tuple[int, int]]]:
        with self.lock:
            if self.all_sorted is None or self.all_sorted[0] != self.runs_version:
                keys = list(self.run_index().values())
                ranked = sorted(((self.start_us(k), k) for k in keys), reverse=True)
                self.all_sorted = (self.runs_version, ranked)
            return self.all_sorted[1]

    def queue_json(self, queue: Queue) -> dict[str, Any]:
        created = data.EPOCH_US - runs_data.SPAN_US - (queue.idx + 1) * data.DAY_US
        return {
            "id": queue.id,
            "name": f"{QUEUE_NAMES[queue.idx % len(QUEUE_NAMES)]}"
            + (f" {queue.idx // len(QUEUE_NAMES) + 1}" if queue.idx >= len(QUEUE_NAMES) else ""),
            "description": None if queue.idx % 3 == 2 else "Review of production answers",  # every third: none
            "tenant_id": self.tenant_id,
            "queue_type": "single",
            "created_at": data.iso_naive(created),
            "updated_at": data.iso_naive(created + HOUR_US),
            "total_runs": queue.size(),
            "num_reviewers_per_item": 1,
            "enable_reservations": True,
            "reservation_minutes": 1,
            "reviewer_access_mode": "any",
            "default_dataset": None,
            "source_rule_id": None,
            "run_rule_id": None,
            "metadata": None,
            "assigned_reviewers": [],
            "rubric_instructions": None,
            "rubric_keys": ["correctness"],
        }

    def match_runs(
        self, projects: set[str], ids: list[str] | None, lo: int, hi: int, body: dict[str, Any]
    ) -> list[tuple[int, int]]:
        """Run keys matching a query, newest start first."""
        if ids is not None:
            index = self.run_index()
            keys = {index[canonical_uuid(i)] for i in ids if canonical_uuid(i) in index}
            ranked = sorted(((self.start_us(k), k) for k in keys), reverse=True)
        else:
            ranked = self.all_runs_sorted()
        is_root, run_type, has_error = body.get("is_root"), body.get("run_type"), body.get("has_error")
        out: list[tuple[int, int]] = []
        for start, key in ranked:
            if not lo <= start <= hi:
                continue
            f = self.facts(key)
            if projects and f.session not in projects:
                continue
            if is_root is not None and (f.parent is None) != bool(is_root):
                continue
            if run_type is not None and f.run_type.upper() != str(run_type).upper():
                continue
            if has_error is not None and (f.error >= 0) != bool(has_error):
                continue
            out.append(key)
        return out


def _pick_section(value: int) -> int:
    """Review section for ``value`` in [0, 100), with :data:`SECTION_WEIGHTS`."""
    for section, weight in enumerate(SECTION_WEIGHTS):
        if value < weight:
            return section
        value -= weight
    return len(SECTION_WEIGHTS) - 1
