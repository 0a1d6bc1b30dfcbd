"""LangSmith payloads to :class:`runtrack.Run`. One lean function per wire shape; they run once per run.

* ``map_queue_run``: a row of the deprecated ``GET /api/v1/annotation-queues/{id}/runs`` (a v1 run with the
  queue fields ``queue_run_id``, ``added_at``, ``last_reviewed_time``, ``completed_by`` ...).
* ``map_item_run``: an item of ``GET /api/v1/platform/annotation-queues/{id}/items`` together with the run that
  ``POST /api/v2/runs/query`` returned for it (v2 names: ``project_id``, ``parent_run_ids``, upper-case status).

Both give the same ``uid`` for the same LangSmith run: ``native_id`` is the run id and ``kind`` is ``KIND``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from runtrack.convert import enum_table, id_text, open_enum, optional_text, parse_datetime, parse_decimal
from runtrack.errors import PayloadError
from runtrack.model import ReviewStatus, Run, RunStatus, make_uid

__all__ = [
    "KIND",
    "PLATFORM",
    "REVIEW_OF_SECTION",
    "STATUS",
    "link",
    "map_item_run",
    "queue_run_parser",
]

PLATFORM = "langsmith"
#: What every run of this adapter is: a LangSmith run (a span of a trace), whichever queue or endpoint listed it.
#: Part of the uid, so it is the same for the same run in two queues, and ``parent_uid`` points at the parent's uid.
KIND = "trace_run"

#: ``status`` is a free string on v1 (``success``) and upper case on v2 (``SUCCESS``); keys are lower case.
STATUS = {"success": RunStatus.SUCCEEDED, "error": RunStatus.FAILED, "pending": RunStatus.RUNNING}

#: Review status implied by the queue filter (v1 ``status``) or the items section (v2 ``status``).
REVIEW_OF_SECTION = {
    "needs_my_review": ReviewStatus.PENDING,
    "needs_others_review": ReviewStatus.PENDING,
    "completed": ReviewStatus.REVIEWED,
    "archived": ReviewStatus.REVIEWED,
}

_TOKENS = (("prompt_tokens", "input_tokens"), ("completion_tokens", "output_tokens"), ("total_tokens", "total_tokens"))
_COSTS = (("prompt_cost", "input_cost"), ("completion_cost", "output_cost"), ("total_cost", "total_cost"))


_STATUS_TABLE = enum_table(STATUS)


def _status(raw: Any) -> tuple[RunStatus, str | None]:
    return open_enum(RunStatus, _STATUS_TABLE, raw)


def _metrics(run: dict[str, Any], prefix: str) -> dict[str, int | float | Decimal]:
    """Tokens as numbers, costs (decimal strings on v1, numbers on v2) as Decimal; null or missing stays absent."""
    metrics: dict[str, int | float | Decimal] = {}
    get = run.get
    for source, name in _TOKENS:
        value = get(source)
        if value is not None:
            if value.__class__ is not int and (
                isinstance(value, bool) or not isinstance(value, float) or not math.isfinite(value)
            ):
                raise PayloadError(f"expected a token count, got {value!r:.40}", path=f"{prefix}.{source}")
            metrics[name] = value
    for source, name in _COSTS:
        value = get(source)
        if value is not None:
            if value.__class__ is str:
                try:
                    cost = Decimal(value)
                except ArithmeticError:
                    cost = None  # the slow path below names the field
                if cost is not None and cost.is_finite():
                    metrics[name] = cost
                    continue
            cost = parse_decimal(value, f"{prefix}.{source}")
            if cost is not None:
                metrics[name] = cost
    return metrics


def _tags(run: dict[str, Any], prefix: str) -> tuple[str, ...]:
    tags = run.get("tags")
    if not tags:
        return ()
    if tags.__class__ is not list:
        raise PayloadError(f"expected an array of tags, got {type(tags).__name__}", path=f"{prefix}.tags")
    return tuple(map(str, tags))


def parent_id(run: dict[str, Any]) -> Any:
    """The parent run's id: ``parent_run_id``, else the last of ``parent_run_ids`` (root first, as v2 sends it)."""
    parent = run.get("parent_run_id")
    if parent is None:
        parents = run.get("parent_run_ids")
        if isinstance(parents, list) and parents:
            parent = parents[-1]
    return parent


def link(web: str, app_path: Any) -> str | None:
    """The deep link of a run: the web app URL plus the run's ``app_path``."""
    if not app_path or not isinstance(app_path, str):
        return None
    if app_path.startswith(("http://", "https://")):
        return app_path
    return web + (app_path if app_path.startswith("/") else "/" + app_path)


def queue_run_parser(
    *, instance: str, queue_id: str, review: ReviewStatus | None, web: str
) -> Callable[[dict[str, Any]], Run]:
    """The mapping of one row of ``GET /api/v1/annotation-queues/{queue_id}/runs``.

    ``review`` comes from the ``status`` filter; without one, a row counts as REVIEWED once a reviewer completed it
    (``completed_by`` not empty), else PENDING (``last_reviewed_time`` alone is a view or a partial review).
    """
    reviewed, pending = ReviewStatus.REVIEWED, ReviewStatus.PENDING

    def parse(item: dict[str, Any]) -> Run:
        run_id = id_text(item.get("id"))
        status, status_raw = _status(item.get("status"))
        started = parse_datetime(item.get("start_time"), "$.start_time")
        scope = {"queue_id": queue_id}
        for key in ("session_id", "trace_id", "queue_run_id"):
            value = item.get(key)
            if value is not None:
                scope[key] = str(value)
        parent = parent_id(item)
        return Run(
            platform=PLATFORM,
            instance=instance,
            kind=KIND,
            native_id=run_id,
            name=optional_text(item.get("name"), "$.name"),
            status=status,
            status_raw=status_raw,
            review_status=review if review is not None else (reviewed if item.get("completed_by") else pending),
            created_at=started,
            started_at=started,
            ended_at=parse_datetime(item.get("end_time"), "$.end_time"),
            parent_uid=None if parent is None else make_uid(PLATFORM, instance, KIND, str(parent)),
            scope=scope,
            metrics=_metrics(item, "$"),
            error=optional_text(item.get("error"), "$.error", structured=True),
            tags=_tags(item, "$"),
            url=link(web, item.get("app_path")),
            raw=item,
        )

    return parse


def map_item_run(
    item: dict[str, Any],
    run: dict[str, Any] | None,
    *,
    instance: str,
    queue_id: str,
    review: ReviewStatus,
    web: str,
    run_path: str = "$.run",
) -> Run:
    """A queue item and its hydrated v2 run (None when the run query did not return it: the Run then carries
    what the item knows, status UNKNOWN). ``raw`` is ``{"item": <item>, "run": <run or None>}``, both as received."""
    scope = {"queue_id": queue_id}
    if item.get("id") is not None:
        scope["queue_run_id"] = str(item["id"])
    raw = {"item": item, "run": run}
    if run is None:
        if item.get("project_id") is not None:
            scope["session_id"] = str(item["project_id"])
        return Run(
            platform=PLATFORM,
            instance=instance,
            kind=KIND,
            native_id=id_text(item["run_id"], "$.run_id"),
            review_status=review,
            scope=scope,
            raw=raw,
        )
    status, status_raw = _status(run.get("status"))
    started = parse_datetime(run.get("start_time"), f"{run_path}.start_time")
    project = run.get("project_id", item.get("project_id"))
    if project is not None:
        scope["session_id"] = str(project)
    if run.get("trace_id") is not None:
        scope["trace_id"] = str(run["trace_id"])
    parent = parent_id(run)
    return Run(
        platform=PLATFORM,
        instance=instance,
        kind=KIND,
        native_id=id_text(item["run_id"], "$.run_id"),
        name=optional_text(run.get("name"), f"{run_path}.name"),
        status=status,
        status_raw=status_raw,
        review_status=review,
        created_at=started,
        started_at=started,
        ended_at=parse_datetime(run.get("end_time"), f"{run_path}.end_time"),
        parent_uid=None if parent is None else make_uid(PLATFORM, instance, KIND, str(parent)),
        scope=scope,
        metrics=_metrics(run, run_path),
        error=optional_text(run.get("error"), f"{run_path}.error", structured=True),
        tags=_tags(run, run_path),
        url=link(web, run.get("app_path")),
        raw=raw,
    )
