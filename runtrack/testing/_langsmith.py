"""``FakeLangSmith``: annotation queues, queue runs (offset/limit), queue items (cursor) and run queries."""

from __future__ import annotations

import base64
import random
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from runtrack.testing import _data as d
from runtrack.testing import _langsmith_data as L
from runtrack.testing._cache import PageCache
from runtrack.testing._fastapi import Invalid, Query, canonical_uuid, is_uuid, parse_datetime_us, uuid_error
from runtrack.testing._faults import Faults
from runtrack.testing._jsonutil import dumps, loads
from runtrack.testing._langsmith_writes import FeedbackStore
from runtrack.testing._server import FakeServer, Request, Response

EXTRA = 1 << 40  # codes >= EXTRA are run-time queue entries (added, drift, shared)
SECTION_WEIGHTS = (45, 20, 35)
ITEM_SECTIONS = {"needs_my_review": 0, "needs_others_review": 1, "archived": 2}
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
V1 = r"(?:/api/v1)?"
_ID = r"(?P<qid>[^/]+)"


@dataclass(frozen=True)
class _Extra:
    run: tuple[int, int]
    qr_id: str
    added_us: int
    section: int


class _Queue:
    """One annotation queue: ``n`` seeded runs, ``threads`` THREAD items, then run-time entries."""

    def __init__(self, idx: int, queue_id: str, n: int, threads: int) -> None:
        self.idx, self.id, self.n, self.threads = idx, queue_id, n, threads
        self.spacing = max(L.SPAN_US // max(n + threads, 1), 1000)
        self.order: list[int] | None = None  # entry codes, oldest first
        self.sections = bytearray()
        self.extras: list[_Extra] = []
        self.extra_keys: dict[tuple[int, int], int] = {}
        self.version = 0
        self.listings: dict[tuple[Any, ...], list[int]] = {}

    def section(self, code: int) -> int:
        return self.extras[code - EXTRA].section if code >= EXTRA else self.sections[code]

    def size(self) -> int:
        return self.n + self.threads + len(self.extras)


class FakeLangSmith(FakeServer):
    """LangSmith annotation-queue API on 127.0.0.1 with seeded, deterministic data.

    ``queues`` queues of ``runs_per_queue`` runs each (+ ``threads_per_queue`` THREAD items on the items
    endpoint, + ``shared_runs`` runs of the previous queue re-queued in each queue), spread over
    ``projects`` tracing projects. ``runs_endpoint_status`` (404 or 410) retires ``GET .../runs``.

    Feedback, datasets and examples (``/api/v1/feedback``, ``/datasets``, ``/examples``) start empty; see
    :class:`~runtrack.testing._langsmith_writes.FeedbackStore` for the traps they reproduce.
    ``require_session_id`` makes feedback without ``session_id`` a 422; ``feedback_per_minute`` rate-limits
    feedback writes (429 with ``Retry-After``). Read what was written with :meth:`feedback`, :meth:`datasets`,
    :meth:`examples`.
    """

    vendor = "langsmith"

    def __init__(
        self,
        *,
        seed: int = 0,
        queues: int = 3,
        runs_per_queue: int = 25,
        threads_per_queue: int = 0,
        shared_runs: int = 0,
        projects: int = 2,
        api_key: str | None = None,
        org_api_key: str | None = None,
        tenant_id: str | None = None,
        runs_endpoint_status: int | None = None,
        require_session_id: bool = False,
        feedback_per_minute: int | None = None,
        cache_bytes: int = 256 * 2**20,
        faults: Faults | None = None,
        log_limit: int = 100_000,
    ) -> None:
        super().__init__(faults=faults, log_limit=log_limit)
        self.seed = seed
        self._prefix = f"{seed}|langsmith|".encode()
        p = self._prefix
        self.tenant_id = tenant_id or d.uuid4(d.digest(p, "tenant"))
        self.api_key = api_key or f"lsv2_pt_{d.digest(p, 'key').hex()[:32]}_{d.digest(p, 'key2').hex()[:10]}"
        self.org_api_key = org_api_key or f"lsv2_sk_{d.digest(p, 'org').hex()[:32]}_{d.digest(p, 'o2').hex()[:10]}"
        self.project_ids = [d.uuid4(d.digest(p, "project", k)) for k in range(max(projects, 1))]
        self.reviewer_ids = [d.uuid4(d.digest(p, "reviewer", k)) for k in range(4)]
        self.runs_endpoint_status = runs_endpoint_status
        self._pools = L.Pools(seed, self.tenant_id)
        self._queues = [
            _Queue(q, d.uuid4(d.digest(p, "queue", q)), runs_per_queue, threads_per_queue) for q in range(queues)
        ]
        self._by_id = {queue.id: queue for queue in self._queues}
        self._lock = threading.RLock()
        self._cache = PageCache(cache_bytes)
        self._created = [0] * queues  # runs created at run time, per home queue
        self._index: dict[str, tuple[int, int]] | None = None
        self._all_sorted: tuple[int, list[tuple[int, tuple[int, int]]]] | None = None
        self._runs_version = 0
        self._extra_clock = 0
        self.drift_inserted = 0
        for queue in self._queues[1:]:
            prev = self._queues[queue.idx - 1]
            self._add_entries(queue, [(prev.idx, i) for i in range(min(shared_runs, prev.n))], None)
        self.writes = FeedbackStore(
            authorize=self._auth, require_session_id=require_session_id, feedback_per_minute=feedback_per_minute
        )
        self._routes_setup()
        self.writes.register(self.route)

    def _routes_setup(self) -> None:
        self.route("GET", r"(?:/api/v1)?/info/?", self._info)
        self.route("GET", V1 + r"/annotation-queues/?", self._list_queues)
        self.route("GET", V1 + rf"/annotation-queues/{_ID}", self._get_queue)
        self.route("GET", V1 + rf"/annotation-queues/{_ID}/runs", self._list_runs)
        self.route("POST", V1 + rf"/annotation-queues/{_ID}/runs", self._add_runs)
        self.route("GET", rf"/api/v1/platform/annotation-queues/{_ID}/items", self._list_items)
        self.route("POST", r"/api/v2/runs/query", self._query_v2)
        self.route("POST", V1 + r"/runs/query", self._query_v1)

    # -- ground truth ----------------------------------------------------------------------------

    @property
    def queue_ids(self) -> list[str]:
        """Queue ids in listing order."""
        return [queue.id for queue in self._queues]

    @property
    def runs_by_queue(self) -> dict[str, list[str]]:
        """Run ids per queue in ``GET .../runs`` order (newest first), as of now."""
        return {
            queue.id: [self._entry_run_id(queue, c) for c in self._listing(queue, None, None)] for queue in self._queues
        }

    @property
    def items_by_queue(self) -> dict[str, list[str]]:
        """Queue item ids (``queue_run_id``; THREAD items included) per queue, newest first."""
        out: dict[str, list[str]] = {}
        for queue in self._queues:
            order = self._materialize(queue)
            out[queue.id] = [self._entry_item(queue, c)["id"] for c in reversed(order)]
        return out

    def all_run_ids(self) -> set[str]:
        """Distinct run ids over every queue."""
        return {rid for ids in self.runs_by_queue.values() for rid in ids}

    def queue_runs(self, queue_id: str, status: str | None = None, archived: bool | None = None) -> list[Any]:
        """What ``GET .../runs`` would list over all pages (parsed rows), for assertions."""
        queue = self._by_id[queue_id]
        rows = [self._row(queue, c) for c in self._listing(queue, _SECTION_OF.get(status or ""), archived)]
        return list(loads(b"[" + b",".join(rows) + b"]"))

    def run(self, run_id: str) -> Any:
        """The v1 ``RunSchema`` of a run (no queue fields)."""
        key = self._run_index()[run_id]
        return loads(L.v1_run_bytes(self._facts(key), self._pools, self.tenant_id) + b"}")

    def feedback(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Every feedback written (in creation order), or the feedback on one run."""
        return self.writes.feedback(run_id)

    def datasets(self) -> list[dict[str, Any]]:
        """Every dataset created."""
        return self.writes.datasets()

    def examples(self, dataset_id: str | None = None) -> list[dict[str, Any]]:
        """Every example created, or those of one dataset."""
        return self.writes.examples(dataset_id)

    def add_runs(self, queue_id: str, run_ids: Iterable[str]) -> list[str]:
        """Queue existing runs (like ``POST .../runs``); returns the queue item ids."""
        index = self._run_index()
        queue = self._by_id[queue_id]
        return [e.qr_id for e in self._add_entries(queue, [index[r] for r in run_ids], 0)]

    def insert_runs(self, queue_id: str, count: int) -> list[str]:
        """Create ``count`` new runs at the head of a queue (what ``offset_drift`` does); returns their ids."""
        return self._insert_new(self._by_id[queue_id], count)

    def prerender(self, limit: int = 100) -> int:
        """Render every unfiltered ``GET .../runs`` page of ``limit`` into the cache; returns the bytes."""
        budget, total = self._cache.max_bytes, 0
        self._cache.max_bytes = 1 << 62
        for queue in self._queues:
            for offset in range(0, len(self._listing(queue, None, None)), limit):
                total += len(self._runs_page(queue, None, None, offset, limit))
        self._cache.max_bytes = max(budget, total)
        return total

    # -- data model ------------------------------------------------------------------------------

    def _materialize(self, queue: _Queue) -> list[int]:
        with self._lock:
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
                queue.order = newest + [EXTRA + j for j in range(len(queue.extras))]
            return queue.order

    def _listing(self, queue: _Queue, section: int | None, archived: bool | None, runs: bool = True) -> list[int]:
        """Entry codes, newest first, filtered by review section / archived; THREAD items only if not runs."""
        key = (runs, section, archived)
        with self._lock:
            cached = queue.listings.get(key)
            if cached is not None:
                return cached
            order = self._materialize(queue)
            out: list[int] = []
            n, limit = queue.n, queue.n + queue.threads
            for code in reversed(order):
                if runs and n <= code < limit:
                    continue
                sec = queue.section(code)
                if section is not None and sec != section:
                    continue
                if archived is not None and (sec == 2) != archived:
                    continue
                out.append(code)
            queue.listings[key] = out
            return out

    def _start_us(self, key: tuple[int, int]) -> int:
        q, i = key
        queue = self._queues[q]
        if i < queue.n:
            lag = 60_000_000 + ((i * 2_654_435_761 + q * 97_531 + self.seed) % 1_000_003) * 172_000
            return d.EPOCH_US - (i + 1) * queue.spacing - lag
        return d.EPOCH_US + (i - queue.n + 1) * 1_000_000 - 500_000

    def _facts(self, key: tuple[int, int]) -> L.RunFacts:
        return L.facts(self._prefix, key[0], key[1], self._start_us(key), self.project_ids)

    def _run_id(self, key: tuple[int, int]) -> str:
        return d.uuid7(self._start_us(key) // 1000, d.digest(self._prefix, key[0], key[1]), 0)

    def _entry(self, queue: _Queue, code: int) -> tuple[tuple[int, int], str, int, int]:
        """(run key, queue item id, added_at us, section) of an entry code."""
        if code >= EXTRA:
            e = queue.extras[code - EXTRA]
            return e.run, e.qr_id, e.added_us, e.section
        added = d.EPOCH_US - (code + 1) * queue.spacing
        return (queue.idx, code), d.uuid4(d.digest(self._prefix, "qr", queue.idx, code)), added, queue.sections[code]

    def _entry_run_id(self, queue: _Queue, code: int) -> str:
        return self._run_id(self._entry(queue, code)[0])

    def _row(self, queue: _Queue, code: int) -> bytes:
        key, qr_id, added, section = self._entry(queue, code)
        body = L.v1_run_bytes(self._facts(key), self._pools, self.tenant_id)
        return body + L.queue_part(qr_id, added, section, self.reviewer_ids, code * 7919 + queue.idx)

    def _entry_item(self, queue: _Queue, code: int) -> dict[str, Any]:
        if queue.n <= code < queue.n + queue.threads:
            h = d.digest(self._prefix, "thread", queue.idx, code)
            t, step = code - queue.n, queue.n // (queue.threads + 1)
            added = (
                d.EPOCH_US - step * (t + 1) * queue.spacing - queue.spacing // 2
                if step
                else d.EPOCH_US - (queue.n + t + 1) * queue.spacing
            )
            item: dict[str, Any] = {
                "id": d.uuid4(h),
                "queue_id": queue.id,
                "item_type": "THREAD",
                "run_id": None,
                "thread_id": f"thread-{h[16:24].hex()}",
                "project_id": self.project_ids[h[30] % len(self.project_ids)],
                "start_time": None if h[31] % 4 == 0 else d.iso_z(added - 3_600_000_000),
            }
            section = queue.sections[code]
        else:
            key, qr_id, added, section = self._entry(queue, code)
            f = self._facts(key)
            item = {
                "id": qr_id,
                "queue_id": queue.id,
                "item_type": "RUN",
                "run_id": f.id,
                "thread_id": None,
                "project_id": f.session,
                "start_time": d.iso_z(f.start_us),
            }
        reviewed = None if section == 0 else d.iso_z(added + 90_000_000)
        done = [self.reviewer_ids[code % len(self.reviewer_ids)]] if section == 2 else []
        item.update(
            {
                "added_at": d.iso_z(added),
                "effective_added_at": d.iso_z(added),
                "last_reviewed_time": reviewed,
                "completed_by": done,
                "reserved_by": [],
                "assigned_to": [],
                "source_proposed_example_id": None,
            }
        )
        return item

    def _item_start_us(self, queue: _Queue, code: int) -> int | None:
        start = self._entry_item(queue, code)["start_time"]
        return None if start is None else parse_datetime_us(start)

    def _add_entries(self, queue: _Queue, keys: list[tuple[int, int]], section: int | None) -> list[_Extra]:
        out: list[_Extra] = []
        with self._lock:
            self._materialize(queue)
            for key in keys:
                if key[0] == queue.idx and key[1] < queue.n:
                    _, qr, added, sec = self._entry(queue, key[1])
                    out.append(_Extra(key, qr, added, sec))
                    continue
                known = queue.extra_keys.get(key)
                if known is not None:
                    out.append(queue.extras[known])
                    continue
                self._extra_clock += 1
                h = d.digest(self._prefix, "extra", queue.idx, len(queue.extras))
                sec = section if section is not None else _pick_section(h[0] % 100)
                extra = _Extra(key, d.uuid4(h), d.EPOCH_US + self._extra_clock * 1_000_000, sec)
                queue.extra_keys[key] = len(queue.extras)
                assert queue.order is not None
                queue.order.append(EXTRA + len(queue.extras))
                queue.extras.append(extra)
                out.append(extra)
            queue.version += 1
            queue.listings.clear()
        return out

    def _insert_new(self, queue: _Queue, count: int) -> list[str]:
        with self._lock:
            keys = [(queue.idx, queue.n + self._created[queue.idx] + k) for k in range(count)]
            self._created[queue.idx] += count
            self._runs_version += 1
            if self._index is not None:
                for key in keys:
                    self._index[self._run_id(key)] = key
            self._add_entries(queue, keys, None)
        return [self._run_id(k) for k in keys]

    def _run_index(self) -> dict[str, tuple[int, int]]:
        with self._lock:
            if self._index is None:
                index: dict[str, tuple[int, int]] = {}
                for queue in self._queues:
                    for i in range(queue.n + self._created[queue.idx]):
                        index[self._run_id((queue.idx, i))] = (queue.idx, i)
                self._index = index
            return self._index

    def _all_runs_sorted(self) -> list[tuple[int, tuple[int, int]]]:
        with self._lock:
            if self._all_sorted is None or self._all_sorted[0] != self._runs_version:
                keys = list(self._run_index().values())
                ranked = sorted(((self._start_us(k), k) for k in keys), reverse=True)
                self._all_sorted = (self._runs_version, ranked)
            return self._all_sorted[1]

    # -- auth ------------------------------------------------------------------------------------

    def _auth(self, req: Request) -> Response | None:
        key = req.header("X-API-Key")
        tenant = req.header("X-Tenant-Id")
        if key == self.api_key:
            if tenant is not None and tenant != self.tenant_id:
                return Response.json({"detail": "Forbidden"}, 403)
            return None
        if key is not None and key == self.org_api_key:
            if tenant is None:
                return Response.json(
                    {
                        "error": "org_scoped_key_requires_workspace",
                        "detail": "This API key is org-scoped and requires a workspace: send the X-Tenant-Id header.",
                    },
                    403,
                )
            if tenant != self.tenant_id:
                return Response.json({"detail": "Forbidden"}, 403)
            return None
        return Response.json({"detail": "Invalid token"}, 401)

    def _queue_from(self, req: Request, qid: str) -> _Queue | Response:
        denied = self._auth(req)
        if denied is not None:
            return denied
        if not is_uuid(qid):
            return Invalid([uuid_error(["path", "queue_id"], qid)]).response
        queue = self._by_id.get(canonical_uuid(qid))
        if queue is None:
            return Response.json({"detail": "Annotation queue not found"}, 404)
        return queue

    # -- routes ----------------------------------------------------------------------------------

    def _info(self, req: Request, m: re.Match[str]) -> Response:
        return Response.json(
            {
                "version": "0.11.29",
                "license_expiration_time": None,
                "batch_ingest_config": {
                    "scale_up_qsize_trigger": 1000,
                    "size_limit": 100,
                    "size_limit_bytes": 20971520,
                },
                "instance_flags": {
                    "ch_query_enabled": False,
                    "sdb_query_enabled": True,
                    "dataset_examples_multipart_enabled": True,
                },
            }
        )

    def _queue_json(self, queue: _Queue) -> dict[str, Any]:
        created = d.EPOCH_US - L.SPAN_US - (queue.idx + 1) * 86_400_000_000
        return {
            "id": queue.id,
            "name": f"{QUEUE_NAMES[queue.idx % len(QUEUE_NAMES)]}"
            + (f" {queue.idx // len(QUEUE_NAMES) + 1}" if queue.idx >= len(QUEUE_NAMES) else ""),
            "description": None if queue.idx % 3 == 2 else "Review of production answers",
            "tenant_id": self.tenant_id,
            "queue_type": "single",
            "created_at": d.iso_naive(created),
            "updated_at": d.iso_naive(created + 3_600_000_000),
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

    def _list_queues(self, req: Request, m: re.Match[str]) -> Response:
        denied = self._auth(req)
        if denied is not None:
            return denied
        qp = Query(req)
        offset = qp.integer("offset", 0, ge=0) or 0
        limit = qp.integer("limit", 100, ge=1, le=100) or 100
        try:
            qp.check()
        except Invalid as exc:
            return exc.response
        queues = [self._queue_json(q) for q in self._queues]
        ids = set(req.query.get("ids", []) + req.query.get("ids[]", []))
        name, contains = req.q("name"), req.q("name_contains")
        queues = [
            q
            for q in queues
            if (not ids or q["id"] in ids)
            and (name is None or q["name"] == name)
            and (contains is None or contains.lower() in q["name"].lower())
        ]
        return Response.json(queues[offset : offset + limit])

    def _get_queue(self, req: Request, m: re.Match[str]) -> Response:
        queue = self._queue_from(req, m["qid"])
        return queue if isinstance(queue, Response) else Response.json(self._queue_json(queue))

    def _list_runs(self, req: Request, m: re.Match[str]) -> Response:
        queue = self._queue_from(req, m["qid"])
        if isinstance(queue, Response):
            return queue
        if self.runs_endpoint_status == 404:
            return Response.json({"detail": "Not Found"}, 404)
        if self.runs_endpoint_status is not None:
            return Response.json(
                {"detail": "This endpoint was removed; use GET /api/v1/platform/annotation-queues/{queue_id}/items"},
                self.runs_endpoint_status,
            )
        qp = Query(req)
        offset = qp.integer("offset", 0, ge=0) or 0
        limit = qp.integer("limit", 100, ge=1, le=100) or 100
        status = qp.choice("status", ("needs_my_review", "needs_others_review", "completed"))
        archived = qp.boolean("archived")
        qp.boolean("include_stats")
        try:
            qp.check()
        except Invalid as exc:
            return exc.response
        body = self._runs_page(queue, _SECTION_OF.get(status or ""), archived, offset, limit)
        self._drift(queue, req)
        return Response.raw_json(body)

    def _runs_page(self, queue: _Queue, section: int | None, archived: bool | None, offset: int, limit: int) -> bytes:
        with self._lock:
            codes = self._listing(queue, section, archived)[offset : offset + limit]
            key = ("runs", queue.idx, queue.version, section, archived, offset, limit)
        return self._cache.get(key, lambda: b"[" + b",".join([self._row(queue, c) for c in codes]) + b"]")

    def _drift(self, queue: _Queue, req: Request) -> None:
        k = self.faults.offset_drift
        if k > 0:
            with self._lock:
                self._insert_new(queue, k)
                self.drift_inserted += k
            self.faults.note(req.n, "offset_drift", req.method, req.path)

    def _add_runs(self, req: Request, m: re.Match[str]) -> Response:
        queue = self._queue_from(req, m["qid"])
        if isinstance(queue, Response):
            return queue
        try:
            body = req.json()
        except ValueError:
            return Invalid(
                [
                    {
                        "type": "json_invalid",
                        "loc": ["body", 0],
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": "Expecting value"},
                    }
                ]
            ).response
        if not isinstance(body, list):
            return Invalid(
                [{"type": "list_type", "loc": ["body"], "msg": "Input should be a valid list", "input": body}]
            ).response
        ids: list[str] = []
        errors: list[dict[str, Any]] = []
        for k, item in enumerate(body):
            value = item.get("run_id") if isinstance(item, dict) else item
            if not isinstance(value, str) or not is_uuid(value):
                errors.append(uuid_error(["body", k], value))
            else:
                ids.append(canonical_uuid(value))
        if errors:
            return Invalid(errors).response
        index = self._run_index()
        missing = [r for r in ids if r not in index]
        if missing:
            return Response.json({"detail": f"Run {missing[0]} not found"}, 404)
        entries = self._add_entries(queue, [index[r] for r in ids], 0)
        return Response.json(
            [
                {
                    "id": e.qr_id,
                    "queue_id": queue.id,
                    "run_id": self._run_id(e.run),
                    "added_at": d.iso_naive(e.added_us),
                    "last_reviewed_time": None,
                    "source_proposed_example_id": None,
                }
                for e in entries
            ]
        )

    def _list_items(self, req: Request, m: re.Match[str]) -> Response:
        queue = self._queue_from(req, m["qid"])
        if isinstance(queue, Response):
            return queue
        qp = Query(req)
        status = qp.choice("status", tuple(ITEM_SECTIONS), required=True)
        direction = qp.choice("direction", ("forward", "backward")) or "forward"
        item_type = qp.choice("item_type", ("RUN", "THREAD"))
        page_size = qp.integer("page_size", 100, ge=1, le=100) or 100
        lo, hi = qp.datetime_us("min_start_time"), qp.datetime_us("max_start_time")
        try:
            qp.check()
        except Invalid as exc:
            return exc.response
        assert status is not None
        section = ITEM_SECTIONS[status]
        cursor = req.q("cursor")
        if direction == "backward" and not cursor:
            return Response.json({"detail": "cursor is required when direction is backward"}, 400)
        with self._lock:
            codes = self._listing(queue, section, None, runs=False)
        size = len(codes)
        pos = 0
        if cursor:
            tail = _decode_cursor(cursor, queue.idx, section)
            if tail is None or tail > size:
                return Response.json({"detail": "Invalid cursor"}, 400)
            pos = size - tail

        def keep(code: int) -> bool:
            is_thread = queue.n <= code < queue.n + queue.threads
            if item_type is not None and (item_type == "THREAD") != is_thread:
                return False
            if lo is None and hi is None:
                return True
            start = self._item_start_us(queue, code)
            return start is not None and (lo is None or start >= lo) and (hi is None or start <= hi)

        page: list[int] = []
        if direction == "forward":
            p = pos
            while p < size and len(page) < page_size:
                if keep(codes[p]):
                    page.append(codes[p])
                p += 1
            next_cursor = _encode_cursor(queue.idx, section, size - p) if p < size else None
        else:
            p = pos
            while p > 0 and len(page) < page_size:
                p -= 1
                if keep(codes[p]):
                    page.insert(0, codes[p])
            next_cursor = _encode_cursor(queue.idx, section, size - p) if p > 0 else None
        body = {"items": [self._entry_item(queue, c) for c in page], "next_cursor": next_cursor}
        self._drift(queue, req)
        return Response.json(body)

    # -- run queries -------------------------------------------------------------------------------

    def _problem(self, req: Request, status: int, detail: str) -> Response:
        title = {400: "Bad Request", 404: "Not Found", 422: "Unprocessable Entity"}.get(status, "Error")
        body = {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": req.path,
            "remedy": "Check the request body against the runs query schema.",
        }
        return Response(status, dumps(body), "application/problem+json")

    def _query_v2(self, req: Request, m: re.Match[str]) -> Response:
        denied = self._auth(req)
        if denied is not None:
            return denied
        try:
            body = req.json()
        except ValueError:
            return self._problem(req, 400, "request body is not valid JSON")
        if not isinstance(body, dict):
            return self._problem(req, 400, "request body must be an object")
        projects, dataset = body.get("project_ids"), body.get("reference_dataset_id")
        if not projects and not dataset:
            return self._problem(req, 400, "one of project_ids or reference_dataset_id is required")
        if projects and dataset:
            return self._problem(req, 400, "project_ids and reference_dataset_id are mutually exclusive")
        page_size = body.get("page_size", 100)
        if not isinstance(page_size, int) or not 1 <= page_size <= 1000:
            return self._problem(req, 400, "page_size must be between 1 and 1000")
        selects = body.get("selects") or ["ID"]
        bad = [s for s in selects if s not in L.V2_FIELDS]
        if bad:
            return self._problem(req, 400, f"unknown select field: {bad[0]}")
        ids = body.get("ids")
        if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) and is_uuid(i) for i in ids)):
            return self._problem(req, 422, "ids must be a list of UUIDs")
        now = int(time.time() * 1_000_000)
        lo = _body_time(body.get("min_start_time"), now - d.DAY_US)
        hi = _body_time(body.get("max_start_time"), now)
        if lo is None or hi is None:
            return self._problem(req, 400, "min_start_time/max_start_time must be RFC 3339 datetimes")
        offset = _decode_offset(body.get("cursor"))
        if offset is None:
            return self._problem(req, 400, "invalid cursor")
        matched = self._match_runs(set(projects or ()), ids, lo, hi, body)
        if body.get("sort_order", "DESC") == "ASC":
            matched.reverse()
        page = matched[offset : offset + page_size]
        sel = frozenset(selects)
        out: dict[str, Any] = {"items": [L.v2_run(self._facts(k), self._pools, self.tenant_id, sel) for k in page]}
        if offset + page_size < len(matched):
            out["next_cursor"] = _encode_offset(offset + page_size)
        return Response.json(out)

    def _match_runs(
        self, projects: set[str], ids: list[str] | None, lo: int, hi: int, body: dict[str, Any]
    ) -> list[tuple[int, int]]:
        """Run keys matching a query, newest start first."""
        if ids is not None:
            index = self._run_index()
            keys = {index[canonical_uuid(i)] for i in ids if canonical_uuid(i) in index}
            ranked = sorted(((self._start_us(k), k) for k in keys), reverse=True)
        else:
            ranked = self._all_runs_sorted()
        is_root, run_type, has_error = body.get("is_root"), body.get("run_type"), body.get("has_error")
        out: list[tuple[int, int]] = []
        for start, key in ranked:
            if not lo <= start <= hi:
                continue
            f = self._facts(key)
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

    def _query_v1(self, req: Request, m: re.Match[str]) -> Response:
        denied = self._auth(req)
        if denied is not None:
            return denied
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Invalid(
                [{"type": "dict_type", "loc": ["body"], "msg": "Input should be a valid dictionary", "input": body}]
            ).response
        limit = body.get("limit", 100)
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            rule = (
                ("less_than_equal", "less than or equal to 100", {"le": 100})
                if isinstance(limit, int) and limit > 100
                else ("greater_than_equal", "greater than or equal to 1", {"ge": 1})
            )
            return Invalid(
                [
                    {
                        "type": rule[0],
                        "loc": ["body", "limit"],
                        "msg": f"Input should be {rule[1]}",
                        "input": limit,
                        "ctx": rule[2],
                    }
                ]
            ).response
        ids, sessions = body.get("id"), body.get("session")
        if not ids and not sessions and not body.get("parent_run") and not body.get("reference_example"):
            return Response.json(
                {"detail": "At least one of 'session', 'id', 'parent_run', or 'reference_example' must be specified"},
                400,
            )
        offset = _decode_offset(body.get("cursor"))
        if offset is None:
            return Response.json({"detail": "Invalid cursor"}, 400)
        lo = _body_time(body.get("start_time"), 0) or 0
        hi = _body_time(body.get("end_time"), 1 << 62) or 1 << 62
        matched = self._match_runs(set(sessions or ()), list(ids) if ids else None, lo, hi, {})
        page = matched[offset : offset + limit]
        nxt = _encode_offset(offset + limit) if offset + limit < len(matched) else None
        rows = b",".join([L.v1_run_bytes(self._facts(k), self._pools, self.tenant_id) + b"}" for k in page])
        cursors = dumps({"next": nxt, "prev": None})
        return Response.raw_json(
            b'{"runs":[' + rows + b'],"cursors":' + cursors + b',"search_cursors":null,"parsed_query":null}'
        )

    def error_response(self, status: int) -> Response:
        """FastAPI-style bodies for injected 429/5xx."""
        detail = {429: "Rate limit exceeded", 500: "Internal Server Error"}.get(status, "Service Unavailable")
        return Response.json({"detail": detail}, status)


_SECTION_OF = {"needs_my_review": 0, "needs_others_review": 1, "completed": 2}


def _pick_section(value: int) -> int:
    """Review section for ``value`` in [0, 100), with :data:`SECTION_WEIGHTS`."""
    for section, weight in enumerate(SECTION_WEIGHTS):
        if value < weight:
            return section
        value -= weight
    return len(SECTION_WEIGHTS) - 1


def _encode_cursor(q: int, section: int, tail: int) -> str:
    return base64.urlsafe_b64encode(f"q{q}.s{section}.t{tail}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, q: int, section: int) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        mq, ms, mt = raw.split(".")
        if mq != f"q{q}" or ms != f"s{section}" or not mt.startswith("t"):
            return None
        return int(mt[1:])
    except (ValueError, UnicodeDecodeError):
        return None


def _encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(dumps({"o": offset})).decode()


def _decode_offset(cursor: Any) -> int | None:
    if cursor is None or cursor == "":
        return 0
    try:
        value = loads(base64.urlsafe_b64decode(str(cursor)))["o"]
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, int) and value >= 0 else None


def _body_time(value: Any, default: int) -> int | None:
    if value is None:
        return default
    return parse_datetime_us(value) if isinstance(value, str) else None
