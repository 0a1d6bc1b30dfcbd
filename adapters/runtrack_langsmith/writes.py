"""LangSmith writes: feedback (create, PATCH, read, list), datasets (create, read by name or id), examples (read by
id, bulk create and update) and reading runs by id (to check they exist before writing feedback on them).

All go through the adapter's one transport. A POST is retried (on 429/5xx/connection errors) only when the body
carries the client-supplied id that makes a repeat harmless: a feedback with ``id``, a dataset with ``id``, a bulk of
examples that all have ``id``. A 409 answer to such a repeat (the first attempt landed) reads what is there instead
of failing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from runtrack.errors import ConfigurationError, NotFoundError, PayloadError, RequestError
from runtrack.paginate import HttpListing, OffsetLimit, Request, RunIterator, Strategy

from .feedback_records import Dataset, Example, Feedback, parse_dataset, parse_example, parse_feedback

if TYPE_CHECKING:
    from runtrack.http import Transport

__all__ = ["MAX_BULK_BYTES", "MAX_LIST_LIMIT", "LangSmithWrites"]

FEEDBACK_PATH = "api/v1/feedback"
DATASETS_PATH = "api/v1/datasets"
EXAMPLES_PATH = "api/v1/examples"
RUNS_QUERY_PATH = "api/v1/runs/query"
#: ``limit`` maximum of ``/feedback``, ``/examples``, ``/datasets`` and the v1 run query (422 beyond)
MAX_LIST_LIMIT = 100
#: request size of one ``/examples/bulk`` call (the SDK's ``_batch_examples_by_size`` bound)
MAX_BULK_BYTES = 20_000_000
#: what ``PATCH /feedback/{id}`` accepts (``FeedbackUpdateSchema``)
FEEDBACK_PATCH_FIELDS = ("score", "value", "comment", "correction", "feedback_config")
CONFLICT = 409


class LangSmithWrites:
    """The write side of :class:`~runtrack_langsmith.LangSmithAdapter` (a mixin: it needs ``transport``)."""

    name: ClassVar[str]
    transport: Transport

    # -- feedback

    def create_feedback(self, feedback: Mapping[str, Any]) -> Feedback:
        """``POST /api/v1/feedback`` with ``feedback`` as the body (``key`` required; ``run_id``, ``trace_id``,
        ``session_id``, ``start_time``, ``score``, ``value``, ``comment``, ``correction``, ``feedback_source``,
        ``id`` ...). ``extend_trace_retention`` is sent false unless the body says otherwise: LangSmith otherwise
        upgrades the trace to extended (billed) retention. Retried only when the body has an ``id``.

        LangSmith accepts feedback for a run id it does not know (eventual consistency): check the run first
        (:meth:`runs_by_id`).
        """
        body = dict(feedback)
        if not isinstance(body.get("key"), str) or not body["key"]:
            raise ConfigurationError("feedback needs a non-empty 'key'", platform=self.name)
        body.setdefault("extend_trace_retention", False)
        feedback_id = body.get("id")
        request = Request(method="POST", path=FEEDBACK_PATH, json=body, idempotent=feedback_id is not None)
        try:
            answer = self.transport.json(request)
        except RequestError as exc:
            if exc.status_code != CONFLICT or feedback_id is None:
                raise
            existing = self.read_feedback(str(feedback_id))
            if existing is None:
                raise
            return existing
        return parse_feedback(answer)

    def update_feedback(self, feedback_id: str, fields: Mapping[str, Any]) -> Feedback:
        """``PATCH /api/v1/feedback/{id}`` with the given fields (of ``score``, ``value``, ``comment``,
        ``correction``, ``feedback_config``). A PATCH of absolute values is safe to repeat, so it is retried."""
        unknown = sorted(set(fields) - set(FEEDBACK_PATCH_FIELDS))
        if unknown:
            raise ConfigurationError(
                f"feedback fields {', '.join(unknown)} cannot be updated; valid: {', '.join(FEEDBACK_PATCH_FIELDS)}",
                platform=self.name,
            )
        answer = self.transport.json(
            Request(method="PATCH", path=f"{FEEDBACK_PATH}/{_id(feedback_id)}", json=dict(fields), idempotent=True)
        )
        return parse_feedback(answer)

    def read_feedback(self, feedback_id: str) -> Feedback | None:
        """``GET /api/v1/feedback/{id}``; None when LangSmith answers 404."""
        try:
            return parse_feedback(self.transport.json(Request(path=f"{FEEDBACK_PATH}/{_id(feedback_id)}")))
        except NotFoundError:
            return None

    def list_feedback(
        self,
        *,
        run: str | Sequence[str] | None = None,
        key: str | Sequence[str] | None = None,
        session: str | Sequence[str] | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
        cursor: str | None = None,
    ) -> RunIterator[Feedback]:
        """``GET /api/v1/feedback?run=&key=&session=`` over every page (offset/limit, at most 100 a page)."""
        params = {k: _many(v) for k, v in (("run", run), ("key", key), ("session", session)) if v is not None}
        listing = HttpListing(
            self.transport.json,
            Request(path=FEEDBACK_PATH, params=params),
            _OFFSET_LIMIT,
            parse_feedback,
            page_size=page_size,
            max_page_size=MAX_LIST_LIMIT,
            key=_item_id,
        )
        scope = ",".join(f"{k}={'|'.join(v)}" for k, v in sorted(params.items()))
        return RunIterator(listing, name=f"{self.name}:feedback:{scope}", cursor=cursor, max_items=max_items)

    # -- datasets

    def create_dataset(self, name: str, *, dataset_id: str | None = None, description: str | None = None) -> Dataset:
        """``POST /api/v1/datasets``. Names are unique: on 409 the dataset of that name is read and returned if it
        has ``dataset_id`` (or no id was asked for); a dataset of that name with another id is a
        :class:`RequestError`. Retried only with ``dataset_id``."""
        body: dict[str, Any] = {"name": name}
        if dataset_id is not None:
            body["id"] = _id(dataset_id)
        if description is not None:
            body["description"] = description
        request = Request(method="POST", path=DATASETS_PATH, json=body, idempotent=dataset_id is not None)
        try:
            return parse_dataset(self.transport.json(request))
        except RequestError as exc:
            if exc.status_code != CONFLICT:
                raise
            existing = self.read_dataset(name=name)
            if existing is None or (dataset_id is not None and existing.id != _id(dataset_id)):
                raise RequestError(
                    f"{exc.message}; the dataset named {name!r} has id "
                    f"{existing.id if existing else '(not readable)'}, not {dataset_id}",
                    platform=self.name,
                    status_code=exc.status_code,
                    vendor_code=exc.vendor_code,
                    request_id=exc.request_id,
                ) from None
            return existing

    def read_dataset(self, *, name: str | None = None, dataset_id: str | None = None) -> Dataset | None:
        """The dataset with exactly this name (``GET /api/v1/datasets?name=``) or id; None when there is none."""
        if (name is None) == (dataset_id is None):
            raise ConfigurationError("read_dataset needs exactly one of name= or dataset_id=", platform=self.name)
        if dataset_id is not None:
            try:
                return parse_dataset(self.transport.json(Request(path=f"{DATASETS_PATH}/{_id(dataset_id)}")))
            except NotFoundError:
                return None
        body = self.transport.json(Request(path=DATASETS_PATH, params={"name": name, "limit": MAX_LIST_LIMIT}))
        items = _array(body, f"GET {DATASETS_PATH}")
        for i, item in enumerate(items):
            dataset = parse_dataset(item, f"$[{i}]")
            if dataset.name == name:
                return dataset
        return None

    # -- examples

    def read_examples(self, example_ids: Sequence[str], *, dataset_id: str | None = None) -> list[Example]:
        """The examples among ``example_ids`` that exist (``GET /api/v1/examples?id=...``, 100 ids a request)."""
        out: list[Example] = []
        ids = [_id(i) for i in example_ids]
        for start in range(0, len(ids), MAX_LIST_LIMIT):
            chunk = ids[start : start + MAX_LIST_LIMIT]
            params: dict[str, Any] = {"id": chunk, "limit": MAX_LIST_LIMIT}
            if dataset_id is not None:
                params["dataset"] = _id(dataset_id)
            body = self.transport.json(Request(path=EXAMPLES_PATH, params=params))
            out.extend(parse_example(item, f"$[{i}]") for i, item in enumerate(_array(body, f"GET {EXAMPLES_PATH}")))
        return out

    def create_examples(self, examples: Sequence[Mapping[str, Any]]) -> list[str]:
        """``POST /api/v1/examples/bulk`` in requests of at most :data:`MAX_BULK_BYTES`; returns the ids created.

        Every example needs ``dataset_id``; with an ``id`` on every example the request is retried, and a 409 (an
        id already there, e.g. the first attempt landed) is resolved by reading the ids back and creating only
        the ones still missing.
        """
        created: list[str] = []
        for batch in _batches(examples, MAX_BULK_BYTES):
            created.extend(self._create_example_batch(batch))
        return created

    def _create_example_batch(self, batch: list[dict[str, Any]]) -> list[str]:
        ids = [e.get("id") for e in batch]
        with_ids = all(i is not None for i in ids)
        request = Request(method="POST", path=f"{EXAMPLES_PATH}/bulk", json=batch, idempotent=with_ids)
        try:
            body = self.transport.json(request)
        except RequestError as exc:
            if exc.status_code != CONFLICT or not with_ids:
                raise
            present = {e.id for e in self.read_examples([str(i) for i in ids])}
            missing = [e for e in batch if _id(str(e["id"])) not in present]
            if missing:
                self.transport.json(_with_body(request, missing))
            return [str(e["id"]) for e in missing]
        if isinstance(body, list):
            return [parse_example(item, f"$[{i}]").id for i, item in enumerate(body)]
        return [str(i) for i in ids if i is not None]

    def update_examples(self, examples: Sequence[Mapping[str, Any]]) -> None:
        """``PATCH /api/v1/examples/bulk`` (each with ``id``), in requests of at most :data:`MAX_BULK_BYTES`."""
        for i, example in enumerate(examples):
            if example.get("id") is None:
                raise ConfigurationError(f"examples[{i}] has no 'id' to update", platform=self.name)
        for batch in _batches(examples, MAX_BULK_BYTES):
            self.transport.json(Request(method="PATCH", path=f"{EXAMPLES_PATH}/bulk", json=batch, idempotent=True))

    # -- runs by id

    def runs_by_id(self, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The runs LangSmith returns for these ids (``POST /api/v1/runs/query {"id": [...]}``, a read, 100 ids a
        request): a run id missing from the answer does not exist (or has aged out of retention)."""
        out: dict[str, dict[str, Any]] = {}
        ids = list(dict.fromkeys(_id(i) for i in run_ids))
        for start in range(0, len(ids), MAX_LIST_LIMIT):
            chunk = ids[start : start + MAX_LIST_LIMIT]
            body = self.transport.json(
                Request(
                    method="POST", path=RUNS_QUERY_PATH, json={"id": chunk, "limit": MAX_LIST_LIMIT}, idempotent=True
                )
            )
            runs = body.get("runs") if isinstance(body, dict) else None
            if not isinstance(runs, list):
                raise PayloadError(
                    f"POST {RUNS_QUERY_PATH}: expected an object with 'runs'", path="$.runs", platform=self.name
                )
            for i, run in enumerate(runs):
                if not isinstance(run, dict) or run.get("id") is None:
                    raise PayloadError("run without an id", path=f"$.runs[{i}].id", platform=self.name)
                out[str(run["id"])] = run
        return out


# cast: the core's Strategy protocol declares ``may_drift`` settable; the frozen strategies make it read-only.
_OFFSET_LIMIT = cast(Strategy, OffsetLimit())


def _with_body(request: Request, body: Any) -> Request:
    return Request(method=request.method, path=request.path, params=request.params, json=body, idempotent=True)


def _id(value: Any) -> str:
    text = str(value).strip()
    if not text or "/" in text:
        raise ConfigurationError(f"invalid id {value!r}", platform="langsmith")
    return text


def _many(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _item_id(item: dict[str, Any]) -> Any:
    return item["id"]


def _array(body: Any, what: str) -> list[Any]:
    if not isinstance(body, list):
        raise PayloadError(f"{what}: expected an array, got {type(body).__name__}", path="$", platform="langsmith")
    return body


def _batches(items: Sequence[Mapping[str, Any]], max_bytes: int) -> Iterator[list[dict[str, Any]]]:
    """Consecutive batches whose JSON array stays within ``max_bytes`` (an item bigger than that goes alone)."""
    batch: list[dict[str, Any]] = []
    size = 2
    for item in items:
        item_size = len(json.dumps(item, default=str).encode()) + 1
        if batch and size + item_size > max_bytes:
            yield batch
            batch, size = [], 2
        batch.append(dict(item))
        size += item_size
    if batch:
        yield batch
