"""``FakeLangSmith``: the HTTP routes of annotation queues, queue runs (offset/limit), queue items (cursor) and run
queries, over the data of ``_langsmith_queues.QueueStore``. Feedback, datasets and examples: ``_langsmith_writes``."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterable
from typing import Any

from runtrack.testing import _data as data
from runtrack.testing import _langsmith_data as runs_data
from runtrack.testing._cache import PageCache
from runtrack.testing._fastapi import Invalid, Query, canonical_uuid, is_uuid, parse_datetime_us, uuid_error
from runtrack.testing._faults import Faults
from runtrack.testing._jsonutil import dumps, loads
from runtrack.testing._langsmith_queues import ARCHIVED, SECTION_OF_STATUS, Queue, QueueStore
from runtrack.testing._langsmith_writes import FeedbackStore
from runtrack.testing._server import FakeServer, Request, Response

#: ``status`` of the items endpoint -> review section (it says ``archived`` where ``/runs`` says ``completed``)
ITEM_SECTIONS = {"needs_my_review": 0, "needs_others_review": 1, "archived": ARCHIVED}
#: the ``limit``/``page_size`` maximum of every queue endpoint (422 beyond)
MAX_PAGE = 100
#: ``page_size`` maximum of the v2 run query
MAX_V2_PAGE = 1000
V1 = r"(?:/api/v1)?"
_ID = r"(?P<qid>[^/]+)"


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
        self.state = QueueStore(
            seed=seed,
            queues=queues,
            runs_per_queue=runs_per_queue,
            threads_per_queue=threads_per_queue,
            shared_runs=shared_runs,
            projects=projects,
            tenant_id=tenant_id,
        )
        key = self.state.prefix
        self.api_key = api_key or f"lsv2_pt_{data.digest(key, 'key').hex()[:32]}_{data.digest(key, 'key2').hex()[:10]}"
        self.org_api_key = org_api_key or (
            f"lsv2_sk_{data.digest(key, 'org').hex()[:32]}_{data.digest(key, 'o2').hex()[:10]}"
        )
        self.runs_endpoint_status = runs_endpoint_status
        self._cache = PageCache(cache_bytes)
        self.drift_inserted = 0
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

    # -- ground truth (see QueueStore) -------------------------------------------------------------

    @property
    def tenant_id(self) -> str:
        return self.state.tenant_id

    @property
    def project_ids(self) -> list[str]:
        """Tracing project (session) ids."""
        return self.state.project_ids

    @property
    def reviewer_ids(self) -> list[str]:
        return self.state.reviewer_ids

    @property
    def queue_ids(self) -> list[str]:
        """Queue ids in listing order."""
        return self.state.queue_ids

    @property
    def runs_by_queue(self) -> dict[str, list[str]]:
        """Run ids per queue in ``GET .../runs`` order (newest first), as of now."""
        return self.state.runs_by_queue

    @property
    def items_by_queue(self) -> dict[str, list[str]]:
        """Queue item ids (``queue_run_id``; THREAD items included) per queue, newest first."""
        return self.state.items_by_queue

    def all_run_ids(self) -> set[str]:
        """Distinct run ids over every queue."""
        return self.state.all_run_ids()

    def queue_runs(self, queue_id: str, status: str | None = None, archived: bool | None = None) -> list[Any]:
        """What ``GET .../runs`` would list over all pages (parsed rows), for assertions."""
        return self.state.queue_runs(queue_id, status, archived)

    def run(self, run_id: str) -> Any:
        """The v1 ``RunSchema`` of a run (no queue fields)."""
        return self.state.run(run_id)

    def add_runs(self, queue_id: str, run_ids: Iterable[str]) -> list[str]:
        """Queue existing runs (like ``POST .../runs``); returns the queue item ids."""
        return self.state.add_runs(queue_id, run_ids)

    def insert_runs(self, queue_id: str, count: int) -> list[str]:
        """Create ``count`` new runs at the head of a queue (what ``offset_drift`` does); returns their ids."""
        return self.state.insert_runs(queue_id, count)

    def feedback(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Every feedback written (in creation order), or the feedback on one run."""
        return self.writes.feedback(run_id)

    def datasets(self) -> list[dict[str, Any]]:
        """Every dataset created."""
        return self.writes.datasets()

    def examples(self, dataset_id: str | None = None) -> list[dict[str, Any]]:
        """Every example created, or those of one dataset."""
        return self.writes.examples(dataset_id)

    def prerender(self, limit: int = MAX_PAGE) -> int:
        """Render every unfiltered ``GET .../runs`` page of ``limit`` into the cache; returns the bytes."""
        budget, total = self._cache.max_bytes, 0
        self._cache.max_bytes = 1 << 62
        for queue in self.state.queues:
            for offset in range(0, len(self.state.listing(queue, None, None)), limit):
                total += len(self._runs_page(queue, None, None, offset, limit))
        self._cache.max_bytes = max(budget, total)
        return total

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

    def _queue_from(self, req: Request, qid: str) -> Queue | Response:
        denied = self._auth(req)
        if denied is not None:
            return denied
        if not is_uuid(qid):
            return Invalid([uuid_error(["path", "queue_id"], qid)]).response
        queue = self.state.by_id.get(canonical_uuid(qid))
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

    def _list_queues(self, req: Request, m: re.Match[str]) -> Response:
        denied = self._auth(req)
        if denied is not None:
            return denied
        qp = Query(req)
        offset, limit = qp.offset_limit(MAX_PAGE)
        try:
            qp.check()
        except Invalid as exc:
            return exc.response
        queues = [self.state.queue_json(q) for q in self.state.queues]
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
        return queue if isinstance(queue, Response) else Response.json(self.state.queue_json(queue))

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
        offset, limit = qp.offset_limit(MAX_PAGE)
        status = qp.choice("status", ("needs_my_review", "needs_others_review", "completed"))
        archived = qp.boolean("archived")
        qp.boolean("include_stats")
        try:
            qp.check()
        except Invalid as exc:
            return exc.response
        body = self._runs_page(queue, SECTION_OF_STATUS.get(status or ""), archived, offset, limit)
        self._drift(queue, req)
        return Response.raw_json(body)

    def _runs_page(self, queue: Queue, section: int | None, archived: bool | None, offset: int, limit: int) -> bytes:
        with self.state.lock:
            codes = self.state.listing(queue, section, archived)[offset : offset + limit]
            key = ("runs", queue.idx, queue.version, section, archived, offset, limit)
        return self._cache.get(key, lambda: b"[" + b",".join([self.state.row(queue, c) for c in codes]) + b"]")

    def _drift(self, queue: Queue, req: Request) -> None:
        k = self.faults.offset_drift
        if k > 0:
            with self.state.lock:
                self.state.insert_new(queue, k)
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
        index = self.state.run_index()
        missing = [r for r in ids if r not in index]
        if missing:
            return Response.json({"detail": f"Run {missing[0]} not found"}, 404)
        entries = self.state.add_entries(queue, [index[r] for r in ids], 0)
        return Response.json(
            [
                {
                    "id": e.qr_id,
                    "queue_id": queue.id,
                    "run_id": self.state.run_id(e.run),
                    "added_at": data.iso_naive(e.added_us),
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
        page_size = qp.integer("page_size", MAX_PAGE, ge=1, le=MAX_PAGE) or MAX_PAGE
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
        with self.state.lock:
            codes = self.state.listing(queue, section, None, runs=False)
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
            start = self.state.item_start_us(queue, code)
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
        body = {"items": [self.state.entry_item(queue, c) for c in page], "next_cursor": next_cursor}
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
        page_size = body.get("page_size", MAX_PAGE)
        if not isinstance(page_size, int) or not 1 <= page_size <= MAX_V2_PAGE:
            return self._problem(req, 400, f"page_size must be between 1 and {MAX_V2_PAGE}")
        selects = body.get("selects") or ["ID"]
        bad = [s for s in selects if s not in runs_data.V2_FIELDS]
        if bad:
            return self._problem(req, 400, f"unknown select field: {bad[0]}")
        ids = body.get("ids")
        if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) and is_uuid(i) for i in ids)):
            return self._problem(req, 422, "ids must be a list of UUIDs")
        now = int(time.time() * 1_000_000)
        lo = _body_time(body.get("min_start_time"), now - data.DAY_US)
        hi = _body_time(body.get("max_start_time"), now)
        if lo is None or hi is None:
            return self._problem(req, 400, "min_start_time/max_start_time must be RFC 3339 datetimes")
        offset = _decode_offset(body.get("cursor"))
        if offset is None:
            return self._problem(req, 400, "invalid cursor")
        matched = self.state.match_runs(set(projects or ()), ids, lo, hi, body)
        if body.get("sort_order", "DESC") == "ASC":
            matched.reverse()
        page = matched[offset : offset + page_size]
        sel = frozenset(selects)
        out: dict[str, Any] = {
            "items": [runs_data.v2_run(self.state.facts(k), self.state.pools, self.tenant_id, sel) for k in page]
        }
        if offset + page_size < len(matched):
            out["next_cursor"] = _encode_offset(offset + page_size)
        return Response.json(out)

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
        limit = body.get("limit", MAX_PAGE)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            rule = (
                ("less_than_equal", f"less than or equal to {MAX_PAGE}", {"le": MAX_PAGE})
                if isinstance(limit, int) and limit > MAX_PAGE
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
        matched = self.state.match_runs(set(sessions or ()), list(ids) if ids else None, lo, hi, {})
        page = matched[offset : offset + limit]
        nxt = _encode_offset(offset + limit) if offset + limit < len(matched) else None
        rows = b",".join(
            [runs_data.v1_run_bytes(self.state.facts(k), self.state.pools, self.tenant_id) + b"}" for k in page]
        )
        cursors = dumps({"next": nxt, "prev": None})
        return Response.raw_json(
            b'{"runs":[' + rows + b'],"cursors":' + cursors + b',"search_cursors":null,"parsed_query":null}'
        )

    def error_response(self, status: int) -> Response:
        """FastAPI-style bodies for injected 429/5xx."""
        detail = {429: "Rate limit exceeded", 500: "Internal Server Error"}.get(status, "Service Unavailable")
        return Response.json({"detail": detail}, status)


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
