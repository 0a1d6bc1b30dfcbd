"""The write side of ``FakeLangSmith``: feedback, datasets and examples, with LangSmith's traps.

* ``POST /api/v1/feedback`` succeeds for a run id the server does not know (eventual consistency on the real
  service): clients must check the run themselves. A repeated feedback id is answered 409 (undocumented on the real
  service; a client must not rely on either answer, so the fake picks the strict one).
* ``session_id`` may be left out, unless ``require_session_id`` (SmithDB-only deployments, where it is becoming
  required) makes that a 422.
* ``feedback_per_minute`` is the feedback rate limit (5,000 a minute on the real service): beyond it, 429 with
  ``Retry-After``.
* Examples: ids must be UUIDs (a non-UUID is a 500, as on the real service); a repeated id in a bulk create is a 409
  for the whole request and nothing is created.
* There is no delete: deleted feedback reappears on the real service, so a client must never delete and recreate.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from runtrack.testing import _data as data
from runtrack.testing._fastapi import Invalid, Query, canonical_uuid, is_uuid, uuid_error
from runtrack.testing._server import Request, Response

__all__ = ["FEEDBACK_PATCH_FIELDS", "MAX_FEEDBACK_KEY", "FeedbackStore"]

V1 = r"(?:/api/v1)?"
_ID = r"(?P<id>[^/]+)"
#: ``FeedbackCreateSchema.key`` maximum length
MAX_FEEDBACK_KEY = 180
#: what ``PATCH /feedback/{id}`` may change (``FeedbackUpdateSchema``)
FEEDBACK_PATCH_FIELDS = ("score", "value", "comment", "correction", "feedback_config")
FEEDBACK_FIELDS = (
    "run_id",
    "trace_id",
    "session_id",
    "start_time",
    "score",
    "value",
    "comment",
    "correction",
    "feedback_source",
    "feedback_config",
    "feedback_group_id",
    "comparative_experiment_id",
)
EXAMPLE_PATCH_FIELDS = ("inputs", "outputs", "metadata", "split", "dataset_id")
#: limit maximum of the list endpoints
MAX_LIMIT = 100
RATE_WINDOW_SECONDS = 60.0
#: objects created at run time get times one day after the seeded data's epoch, one millisecond apart
WRITE_CLOCK_START_US = data.EPOCH_US + data.DAY_US
WRITE_CLOCK_STEP_US = 1_000


class _Answer(Exception):
    """A request refused before its body is read (401, 403, 429)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class FeedbackStore:
    """Feedback, datasets and examples of one fake server (thread-safe); routes are added by :meth:`register`."""

    def __init__(
        self,
        *,
        authorize: Callable[[Request], Response | None],
        require_session_id: bool = False,
        feedback_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._authorize = authorize
        self.require_session_id = require_session_id
        self.feedback_per_minute = feedback_per_minute
        self.clock = clock
        self.throttled = 0  #: feedback writes answered 429
        self._lock = threading.Lock()
        self._feedback: dict[str, dict[str, Any]] = {}
        self._datasets: dict[str, dict[str, Any]] = {}
        self._examples: dict[str, dict[str, Any]] = {}
        self._recent_writes: deque[float] = deque()
        self._write_clock = WRITE_CLOCK_START_US

    def register(self, route: Callable[[str, str, Callable[[Request, re.Match[str]], Response]], None]) -> None:
        route("POST", V1 + r"/feedback/?", self._create_feedback)
        route("GET", V1 + r"/feedback/?", self._list_feedback)
        route("GET", V1 + rf"/feedback/{_ID}", self._get_feedback)
        route("PATCH", V1 + rf"/feedback/{_ID}", self._patch_feedback)
        route("POST", V1 + r"/datasets/?", self._create_dataset)
        route("GET", V1 + r"/datasets/?", self._list_datasets)
        route("GET", V1 + rf"/datasets/{_ID}", self._get_dataset)
        route("POST", V1 + r"/examples/bulk", self._create_examples)
        route("PATCH", V1 + r"/examples/bulk", self._patch_examples)
        route("GET", V1 + r"/examples/?", self._list_examples)

    # -- ground truth ----------------------------------------------------------------------------

    def feedback(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Every feedback (copies, in creation order), or those on one run."""
        with self._lock:
            return [dict(f) for f in self._feedback.values() if run_id is None or f["run_id"] == run_id]

    def datasets(self) -> list[dict[str, Any]]:
        """Every dataset (copies, in creation order)."""
        with self._lock:
            return [dict(x) for x in self._datasets.values()]

    def examples(self, dataset_id: str | None = None) -> list[dict[str, Any]]:
        """Every example (copies, in creation order), or those of one dataset."""
        with self._lock:
            return [dict(e) for e in self._examples.values() if dataset_id is None or e["dataset_id"] == dataset_id]

    # -- helpers ---------------------------------------------------------------------------------

    def _now(self) -> str:
        with self._lock:
            self._write_clock += WRITE_CLOCK_STEP_US
            return data.iso_naive(self._write_clock)

    def _rate_limited(self) -> Response | None:
        limit = self.feedback_per_minute
        if limit is None:
            return None
        now = self.clock()
        with self._lock:
            while self._recent_writes and self._recent_writes[0] <= now - RATE_WINDOW_SECONDS:
                self._recent_writes.popleft()
            if len(self._recent_writes) >= limit:
                self.throttled += 1
                wait = max(1, int(self._recent_writes[0] + RATE_WINDOW_SECONDS - now + 0.999))
                return Response.json({"detail": "Rate limit exceeded"}, 429, [("Retry-After", str(wait))])
            self._recent_writes.append(now)
        return None

    def _body(self, req: Request, shape: type, *, rate_limited: bool = False) -> Any:
        """The authorized request's JSON body, of ``shape``; raises :class:`_Answer` (401/403/429) or
        :class:`Invalid` (422)."""
        denied = self._authorize(req) or (self._rate_limited() if rate_limited else None)
        if denied is not None:
            raise _Answer(denied)
        try:
            body = req.json()
        except ValueError:
            raise Invalid(
                [{"type": "json_invalid", "loc": ["body", 0], "msg": "JSON decode error", "input": {}}]
            ) from None
        if not isinstance(body, shape):
            kind = "dictionary" if shape is dict else "list"
            raise Invalid(
                [{"type": f"{shape.__name__}_type", "loc": ["body"], "msg": f"Input should be a valid {kind}"}]
            )
        return body

    # -- feedback --------------------------------------------------------------------------------

    def _create_feedback(self, req: Request, m: re.Match[str]) -> Response:
        try:
            record = self._new_feedback(self._body(req, dict, rate_limited=True))
        except (Invalid, _Answer) as exc:
            return exc.response
        with self._lock:
            if record["id"] in self._feedback:
                return Response.json({"detail": f"Feedback {record['id']} already exists"}, 409)
            self._feedback[record["id"]] = record
        return Response.json(record)

    def _new_feedback(self, body: dict[str, Any]) -> dict[str, Any]:
        errors: list[dict[str, Any]] = []
        key = body.get("key")
        if not isinstance(key, str) or not key:
            errors.append({"type": "missing", "loc": ["body", "key"], "msg": "Field required", "input": body})
        elif len(key) > MAX_FEEDBACK_KEY:
            errors.append(
                {
                    "type": "string_too_long",
                    "loc": ["body", "key"],
                    "msg": f"String should have at most {MAX_FEEDBACK_KEY} characters",
                    "input": key,
                    "ctx": {"max_length": MAX_FEEDBACK_KEY},
                }
            )
        for name in ("id", "run_id", "trace_id", "session_id"):
            value = body.get(name)
            if value is not None and not (isinstance(value, str) and is_uuid(value)):
                errors.append(uuid_error(["body", name], value))
        if self.require_session_id and body.get("session_id") is None:
            errors.append({"type": "missing", "loc": ["body", "session_id"], "msg": "Field required", "input": body})
        if errors:
            raise Invalid(errors)
        now = self._now()
        record: dict[str, Any] = {"id": canonical_uuid(body["id"]) if body.get("id") else str(uuid.uuid4())}
        record["key"] = key
        for name in FEEDBACK_FIELDS:
            value = body.get(name)
            record[name] = canonical_uuid(value) if name.endswith("_id") and isinstance(value, str) else value
        record["created_at"] = body.get("created_at") or now
        record["modified_at"] = now
        record["extend_trace_retention"] = bool(body.get("extend_trace_retention", True))
        return record

    def _get_feedback(self, req: Request, m: re.Match[str]) -> Response:
        return self._get_one(req, m["id"], self._feedback, "Feedback")

    def _get_one(self, req: Request, object_id: str, table: dict[str, dict[str, Any]], what: str) -> Response:
        """``GET /{what}s/{id}``: 422 for a non-UUID, 404 when absent."""
        denied = self._authorize(req)
        if denied is not None:
            return denied
        if not is_uuid(object_id):
            return Invalid([uuid_error(["path", f"{what.lower()}_id"], object_id)]).response
        with self._lock:
            record = table.get(canonical_uuid(object_id))
        return Response.json(dict(record)) if record else Response.json({"detail": f"{what} not found"}, 404)

    def _patch_feedback(self, req: Request, m: re.Match[str]) -> Response:
        try:
            body = self._body(req, dict, rate_limited=True)
        except (Invalid, _Answer) as exc:
            return exc.response
        if not is_uuid(m["id"]):
            return Invalid([uuid_error(["path", "feedback_id"], m["id"])]).response
        now = self._now()
        with self._lock:
            record = self._feedback.get(canonical_uuid(m["id"]))
            if record is None:
                return Response.json({"detail": "Feedback not found"}, 404)
            record.update({k: v for k, v in body.items() if k in FEEDBACK_PATCH_FIELDS})
            record["modified_at"] = now
            return Response.json(record)

    def _list_feedback(self, req: Request, m: re.Match[str]) -> Response:
        runs, keys, sessions = (set(req.query.get(name, [])) for name in ("run", "key", "session"))
        return self._list(
            req,
            self._feedback,
            lambda f: (
                (not runs or f["run_id"] in runs)
                and (not keys or f["key"] in keys)
                and (not sessions or f["session_id"] in sessions)
            ),
        )

    def _list(self, req: Request, table: dict[str, dict[str, Any]], keep: Callable[[dict[str, Any]], bool]) -> Response:
        """A list endpoint: the records ``keep`` accepts, in creation order, ``offset``/``limit`` (≤100)."""
        denied = self._authorize(req)
        if denied is not None:
            return denied
        qp = Query(req)
        offset, limit = qp.offset_limit(MAX_LIMIT)
        try:
            qp.check()
        except Invalid as exc:
            return exc.response
        with self._lock:
            rows = [dict(record) for record in table.values() if keep(record)]
        return Response.json(rows[offset : offset + limit])

    # -- datasets --------------------------------------------------------------------------------

    def _create_dataset(self, req: Request, m: re.Match[str]) -> Response:
        try:
            body = self._body(req, dict)
        except (Invalid, _Answer) as exc:
            return exc.response
        name = body.get("name")
        if not isinstance(name, str) or not name:
            return Invalid([{"type": "missing", "loc": ["body", "name"], "msg": "Field required"}]).response
        dataset_id = body.get("id")
        if dataset_id is not None and not (isinstance(dataset_id, str) and is_uuid(dataset_id)):
            return Invalid([uuid_error(["body", "id"], dataset_id)]).response
        record = {
            "id": canonical_uuid(dataset_id) if dataset_id else str(uuid.uuid4()),
            "name": name,
            "description": body.get("description"),
            "data_type": body.get("data_type", "kv"),
            "created_at": self._now(),
        }
        with self._lock:
            if any(x["name"] == name for x in self._datasets.values()) or record["id"] in self._datasets:
                return Response.json({"detail": "Dataset with this name already exists."}, 409)
            self._datasets[record["id"]] = record
        return Response.json(record)

    def _list_datasets(self, req: Request, m: re.Match[str]) -> Response:
        name, contains = req.q("name"), req.q("name_contains")
        return self._list(
            req,
            self._datasets,
            lambda x: (name is None or x["name"] == name) and (contains is None or contains in x["name"]),
        )

    def _get_dataset(self, req: Request, m: re.Match[str]) -> Response:
        return self._get_one(req, m["id"], self._datasets, "Dataset")

    # -- examples --------------------------------------------------------------------------------

    def _create_examples(self, req: Request, m: re.Match[str]) -> Response:
        try:
            body = self._body(req, list)
        except (Invalid, _Answer) as exc:
            return exc.response
        records: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for k, item in enumerate(body):
            if not isinstance(item, dict):
                errors.append({"type": "dict_type", "loc": ["body", k], "msg": "Input should be a valid dictionary"})
                continue
            example_id = item.get("id")
            if example_id is not None and not (isinstance(example_id, str) and is_uuid(example_id)):
                # what LangSmith does with a non-UUID example id (langsmith-sdk#1319)
                return Response.json({"detail": "Internal Server Error"}, 500)
            dataset_id = item.get("dataset_id")
            if not (isinstance(dataset_id, str) and is_uuid(dataset_id)):
                errors.append(uuid_error(["body", k, "dataset_id"], dataset_id))
                continue
            records.append(
                {
                    "id": canonical_uuid(example_id) if example_id else str(uuid.uuid4()),
                    "dataset_id": canonical_uuid(dataset_id),
                    "inputs": item.get("inputs") or {},
                    "outputs": item.get("outputs"),
                    "metadata": item.get("metadata"),
                    "split": item.get("split", "base"),
                    "source_run_id": item.get("source_run_id"),
                    "created_at": item.get("created_at") or self._now(),
                    "modified_at": None,
                }
            )
        if errors:
            return Invalid(errors).response
        with self._lock:
            missing = sorted({r["dataset_id"] for r in records} - set(self._datasets))
            if missing:
                return Response.json({"detail": f"Dataset {missing[0]} not found"}, 404)
            ids = [r["id"] for r in records]
            repeated = [i for i in ids if i in self._examples] or [i for i in ids if ids.count(i) > 1]
            if repeated:
                return Response.json({"detail": f"Example {repeated[0]} already exists"}, 409)
            for record in records:
                self._examples[record["id"]] = record
        return Response.json(records)

    def _patch_examples(self, req: Request, m: re.Match[str]) -> Response:
        try:
            body = self._body(req, list)
        except (Invalid, _Answer) as exc:
            return exc.response
        for k, item in enumerate(body):
            if not isinstance(item, dict) or not (isinstance(item.get("id"), str) and is_uuid(item["id"])):
                return Invalid(
                    [uuid_error(["body", k, "id"], item.get("id") if isinstance(item, dict) else item)]
                ).response
        now = self._now()
        with self._lock:
            unknown = [item["id"] for item in body if canonical_uuid(item["id"]) not in self._examples]
            if unknown:
                return Response.json({"detail": f"Example {unknown[0]} not found"}, 404)
            for item in body:
                record = self._examples[canonical_uuid(item["id"])]
                record.update({k: v for k, v in item.items() if k in EXAMPLE_PATCH_FIELDS})
                record["modified_at"] = now
        return Response.json({"message": f"{len(body)} examples updated"})

    def _list_examples(self, req: Request, m: re.Match[str]) -> Response:
        ids = req.query.get("id", [])
        bad = [i for i in ids if not is_uuid(i)]
        if bad:
            return Invalid([uuid_error(["query", "id", 0], bad[0])]).response
        wanted = {canonical_uuid(i) for i in ids}
        dataset = req.q("dataset")
        return self._list(
            req,
            self._examples,
            lambda e: (not wanted or e["id"] in wanted) and (dataset is None or e["dataset_id"] == dataset),
        )
